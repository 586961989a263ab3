// The demo's "database": the messages themselves, kept apart from the replay buffer like a real
// app's table. In memory by default (lost on restart, like the buffer); in Redis with REDIS_URL.
// Listed in id order, which is the order the page renders. The public chat is one list; each
// user's private notes are another.
import { MAX_AUTHOR, MAX_TEXT, type Message } from '$lib/message';
import { DEMO_PREFIX, redis } from './redis';

const KEEP = 1000;
const memory = new Map<string, Message[]>();
let nextId = 1;
const ID_KEY = `${DEMO_PREFIX}chat:id`;
const CHAT = 'chat:messages';

const listKey = (list: string) => `${DEMO_PREFIX}${list}`;
const inboxList = (name: string) => `inbox:${name}:messages`;

async function recent(list: string): Promise<Message[]> {
  if (!redis) return (memory.get(list) ?? []).slice(-KEEP);
  const rows = await redis.zrange(listKey(list), -KEEP, -1);
  return rows.map((row) => JSON.parse(row) as Message);
}

async function append(list: string, author: string, text: string): Promise<Message> {
  const at = Date.now();
  if (!redis) {
    const message: Message = { id: String(nextId++), author, text, at };
    let rows = memory.get(list);
    if (rows === undefined) memory.set(list, (rows = []));
    rows.push(message);
    if (rows.length > KEEP * 2) rows.splice(0, rows.length - KEEP);
    return message;
  }
  const id = await redis.incr(ID_KEY);
  const message: Message = { id: String(id), author, text, at };
  // A sorted set by id: two instances inserting at once still list in id order.
  await redis.zadd(listKey(list), id, JSON.stringify(message));
  await redis.zremrangebyrank(listKey(list), 0, -KEEP * 2 - 1);
  return message;
}

function field(fields: Record<string, FormDataEntryValue>, name: string, max: number): string {
  const value = fields[name];
  return typeof value === 'string' ? value.trim().slice(0, max) : '';
}

export function getRecentMessages(): Promise<Message[]> {
  return recent(CHAT);
}

/**
 * Validates a posted chat form and stores the message; `null` when the form is unusable. A
 * logged-in user posts under their name; anonymous posts take the form's `author` field.
 */
export async function createMessage(fields: Record<string, FormDataEntryValue>, user: string | null): Promise<Message | null> {
  const text = field(fields, 'text', MAX_TEXT);
  if (text === '') return null;
  return append(CHAT, user ?? (field(fields, 'author', MAX_AUTHOR) || 'anonymous'), text);
}

export function getInbox(name: string): Promise<Message[]> {
  return recent(inboxList(name));
}

/** Stores a private note from `from` in `to`'s inbox; `null` when the text is empty. */
export async function createNote(to: string, from: string, fields: Record<string, FormDataEntryValue>): Promise<Message | null> {
  const text = field(fields, 'text', MAX_TEXT);
  if (text === '') return null;
  return append(inboxList(to), from, text);
}
