import { fail } from '@sveltejs/kit';
import { replay } from '$lib/server/replay';
import * as db from '$lib/server/db';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async () => {
  // Position FIRST, then the data: every message published after this point is either in
  // `messages` already (the page drops the duplicate by id) or will be replayed. Never missing.
  const position = await replay.position('chat');
  const messages = await db.getRecentMessages();
  return { messages, position };
};

export const actions: Actions = {
  send: async ({ request, platform }) => {
    const form = await request.formData();
    const msg = await db.createMessage(Object.fromEntries(form));
    if (msg === null) return fail(400, { error: 'Write a message first.' });
    await replay.publish(platform!, 'chat', 'created', msg);
    return { sent: msg.id };
  },
};
