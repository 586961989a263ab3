// Stands in for the app's database in the documentation's examples (`$lib/server/db`).
export interface Message {
  id: string;
  text: string;
}

const messages: Message[] = [];

export async function getRecentMessages(): Promise<Message[]> {
  return messages.slice(-100);
}

export async function createMessage(fields: Record<string, FormDataEntryValue>): Promise<Message> {
  const message = { id: String(messages.length + 1), text: String(fields.text ?? '') };
  messages.push(message);
  return message;
}
