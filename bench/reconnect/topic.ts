/** What the reconnect benchmark's server buffers and its clients ask for. */
export const TOPIC = 'load';
/** Messages buffered on `TOPIC` before the waves start; a reconnect asks for the last ones. */
export const BUFFERED = 1000;
