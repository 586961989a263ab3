// Stands in for the app's session store in the documentation's examples (`$lib/server/sessions`).
export interface SessionUser {
  id: string;
  role: 'member' | 'admin';
}

const users = new Map<string, SessionUser>();

export const sessions = {
  async lookup(sessionId: string | undefined): Promise<SessionUser | undefined> {
    return sessionId === undefined ? undefined : users.get(sessionId);
  },
};
