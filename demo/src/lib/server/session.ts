// The demo's "login": the name itself, in a cookie. Enough to show identity on the socket, but
// anyone can write any name into their cookie. A real app puts a random session id in the cookie
// and looks the user up on the server, in `load`, in actions and in the `upgrade` hook alike.

export const SESSION_COOKIE = 'demo_name';

/** Letters, digits, `_` and `-`: safe inside a topic name and in HTML. */
const NAME = /^[\p{L}\p{N}_-]{1,24}$/u;

/** The name in a login cookie or form field, or `null` when there is none or it is not a valid name. */
export function validName(value: unknown): string | null {
  return typeof value === 'string' && NAME.test(value) ? value : null;
}

/** The private topic of one user: only they may subscribe to it (see the gate in hooks.ws.ts). */
export function inboxTopic(name: string): string {
  return `inbox:${name}`;
}
