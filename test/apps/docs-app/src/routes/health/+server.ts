// A route that does not import the replay buffer (a health check, a login page). Hit first, it
// must not stop the WebSocket endpoint from answering replays.
export function GET(): Response {
  return new Response('ok');
}
