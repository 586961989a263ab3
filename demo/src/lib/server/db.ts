// The demo's "database": the messages themselves, kept apart from the replay buffer like a real
// app's table. In memory by default (lost on restart, like the buffer); in Redis with REDIS_URL.
// Listed in id order, which is the order the page renders.
import { MAX_AUTHOR, MAX_TEXT, type Message } from '$lib/message';
import { DEMO_PREFIX, redis } from './redis';

const KEEP = 1000;
const memory: Message[] = [];
let nextId = 1;
const ID_KEY = `${DEMO_PREFIX}chat:id`;
const LIST_KEY = `${DEMO_PREFIX}chat:messages`;

export async function getRecentMessages(): Promise<Message[]> {
  if (!redis) return memory.slice(-KEEP);
  const rows = await redis.zrange(LIST_KEY, -KEEP, -1);
  return rows.map((row) => JSON.parse(row) as Message);
}

/** Validates a posted form and stores the message; `null` when the form is unusable. */
export async function createMessage(fields: Record<string, FormDataEntryValue>): Promise<Message | null> {
  const author = typeof fields.author === 'string' ? fields.author.trim().slice(0, MAX_AUTHOR) : '';
  const text = typeof fields.text === 'string' ? fields.text.trim().slice(0, MAX_TEXT) : '';
  if (text === '') return null;
  const at = Date.now();
  if (!redis) {
    const message: Message = { id: String(nextId++), author: author || 'anonymous', text, at };
    memory.push(message);
    if (memory.length > KEEP * 2) memory.splice(0, memory.length - KEEP);
    return message;
  }
  const id = await redis.incr(ID_KEY);
  const message: Message = { id: String(id), author: author || 'anonymous', text, at };
  // A sorted set by id: two instances inserting at once still list in id order.
  await redis.zadd(LIST_KEY, id, JSON.stringify(message));
  await redis.zremrangebyrank(LIST_KEY, 0, -KEEP * 2 - 1);
  return message;
}
