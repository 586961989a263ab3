/** A chat message as the "database" stores it and the `created` event carries it. */
export interface Message {
  id: string;
  author: string;
  text: string;
  /** Milliseconds since the epoch, set by the server. */
  at: number;
}

export const MAX_AUTHOR = 40;
export const MAX_TEXT = 500;
