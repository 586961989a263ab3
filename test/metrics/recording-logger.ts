/** A `Logger` that keeps every line it is given, for tests that assert what was logged. */
import type { Logger } from '../../src/core/log.js';

export type LogLine = [level: 'warn' | 'error', message: string, details: unknown[]];

export interface RecordingLogger extends Logger {
  readonly lines: LogLine[];
  /** The messages logged at `level`, in order. */
  messages(level: 'warn' | 'error'): string[];
}

export function recordingLogger(): RecordingLogger {
  const lines: LogLine[] = [];
  return {
    lines,
    warn: (message, ...details) => void lines.push(['warn', message, details]),
    error: (message, ...details) => void lines.push(['error', message, details]),
    messages: (level) => lines.filter(([l]) => l === level).map(([, message]) => message),
  };
}
