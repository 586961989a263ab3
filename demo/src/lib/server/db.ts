// The demo's "database": the messages themselves, kept apart from the replay buffer like a real
// app's table. In memory by default (lost on restart, like the buffer).
import { MAX_AUTHOR, MAX_TEXT, type Message } from '$lib/message';

const KEEP = 1000;
const messages: Message[] = [];
let nextId = 1;

export async function getRecentMessages(): Promise<Message[]> {
  return messages.slice(-KEEP);
}

/** Validates a posted form and stores the message; `null` when the form is unusable. */
export async function createMessage(fields: Record<string, FormDataEntryValue>): Promise<Message | null> {
  const author = typeof fields.author === 'string' ? fields.author.trim().slice(0, MAX_AUTHOR) : '';
  const text = typeof fields.text === 'string' ? fields.text.trim().slice(0, MAX_TEXT) : '';
  if (text === '') return null;
  const message: Message = { id: String(nextId++), author: author || 'anonymous', text, at: Date.now() };
  messages.push(message);
  if (messages.length > KEEP * 2) messages.splice(0, messages.length - KEEP);
  return message;
}
