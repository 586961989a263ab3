import { fail, redirect } from '@sveltejs/kit';
import { replay } from '$lib/server/replay';
import * as db from '$lib/server/db';
import { SESSION_COOKIE, inboxTopic, validName } from '$lib/server/session';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ cookies, url }) => {
  const user = validName(cookies.get(SESSION_COOKIE));
  // Position FIRST, then the data: every message published after this point is either in
  // `messages` already (the page drops the duplicate by id) or will be replayed. Never missing.
  const positions = await replay.positions(user === null ? ['chat'] : ['chat', inboxTopic(user)]);
  const [messages, inbox] = await Promise.all([db.getRecentMessages(), user === null ? null : db.getInbox(user)]);
  return {
    user,
    messages,
    position: positions.chat!,
    inbox: user === null ? null : { messages: inbox!, position: positions[inboxTopic(user)]! },
    // `?peek=name` opens a store on someone else's inbox, to show the gate refusing it.
    peek: validName(url.searchParams.get('peek')),
  };
};

export const actions: Actions = {
  send: async ({ request, platform, cookies }) => {
    const form = await request.formData();
    const msg = await db.createMessage(Object.fromEntries(form), validName(cookies.get(SESSION_COOKIE)));
    if (msg === null) return fail(400, { error: 'Write a message first.' });
    await replay.publish(platform!, 'chat', 'created', msg);
    return { sent: msg.id };
  },

  note: async ({ request, platform, cookies }) => {
    const from = validName(cookies.get(SESSION_COOKIE));
    if (from === null) return fail(401, { error: 'Log in to send private notes.' });
    const form = Object.fromEntries(await request.formData());
    const to = validName(form.to);
    if (to === null) return fail(400, { error: 'Who is it for? (a name: letters, digits, _ and -)' });
    const note = await db.createNote(to, from, form);
    if (note === null) return fail(400, { error: 'Write a note first.' });
    await replay.publish(platform!, inboxTopic(to), 'created', note);
    return { sent: note.id };
  },

  // A full page load follows both, so the new socket's upgrade carries the new cookie.
  login: async ({ request, cookies, url }) => {
    const name = validName((await request.formData()).get('name'));
    if (name === null) return fail(400, { error: 'A name is 1 to 24 letters, digits, _ or -.' });
    cookies.set(SESSION_COOKIE, name, { path: '/', httpOnly: true, sameSite: 'lax', secure: url.protocol === 'https:', maxAge: 60 * 60 * 24 });
    redirect(303, '/');
  },

  logout: async ({ cookies, url }) => {
    cookies.delete(SESSION_COOKIE, { path: '/', secure: url.protocol === 'https:' });
    redirect(303, '/');
  },
};
