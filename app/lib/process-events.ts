// Fatal errors of the process, logged like everything else (app/lib/log.ts): one JSON line on
// standard error, written synchronously (the process exits right after), then exit 1.
import { writeSync } from 'node:fs';
import { createLogger, type Level, type Logger } from './log.js';

/** Write to standard error now, not through the stream's buffer: the process may exit next. */
export function writeStderrNow(line: string): void {
  try {
    writeSync(2, line);
  } catch {
    process.stderr.write(line);
  }
}

/** What is logged of an error (or of whatever was thrown): its message, name and stack, one line. */
export function describeError(e: unknown): Record<string, unknown> {
  if (e instanceof Error) return { error: e.message, name: e.name, stack: e.stack };
  try {
    return { error: String(e) };
  } catch {
    return { error: 'a value that cannot be shown' };
  }
}

/**
 * On an uncaught exception or an unhandled promise rejection: one JSON line (level error), then
 * exit(1). `proc` and `exit` are the process's unless a test passes its own.
 */
export function exitOnFatal(opts: { level?: Level; log?: Logger; exit?: (code: number) => void; proc?: Pick<NodeJS.EventEmitter, 'on'> } = {}): void {
  const log = opts.log ?? createLogger(opts.level ?? 'info', writeStderrNow);
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const proc = opts.proc ?? process;
  let exiting = false;
  const fatal = (msg: string, fields: Record<string, unknown>) => {
    if (exiting) return;
    exiting = true;
    try {
      log.error(msg, fields);
    } finally {
      exit(1);
    }
  };
  proc.on('uncaughtException', (e: unknown, origin: unknown) => fatal('uncaught exception; exiting', { ...describeError(e), origin }));
  proc.on('unhandledRejection', (reason: unknown) => fatal('unhandled promise rejection; exiting', describeError(reason)));
}
