// The server's list, as JSON: what the page must end up showing (the browser tests compare).
import { json } from '@sveltejs/kit';
import { replay } from '$lib/server/replay';
import * as db from '$lib/server/db';

export async function GET() {
  const position = await replay.position('chat');
  return json({ position, messages: await db.getRecentMessages() });
}
