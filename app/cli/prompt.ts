// Secrets asked for on a terminal: raw mode, so nothing typed is echoed; Backspace, Ctrl-U, Enter,
// Ctrl-C and Ctrl-D as a terminal user expects; the terminal's mode restored on every way out.
// When standard input is not a terminal, the secret is its first line (scripts, the VM image).
//
// Signals: SIGINT and SIGTERM are left to Node's default handlers, which reset the terminal mode
// before exiting (installing a listener would remove that). In raw mode Ctrl-C is a key, not a
// signal, and is handled here.
import type { EventEmitter } from 'node:events';
import { StringDecoder } from 'node:string_decoder';
import { ConfigError } from '../config.js';
import type { CliIo } from './context.js';

/** What the prompt needs of standard input (a tty.ReadStream; a fake one in tests). */
export interface TerminalInput extends EventEmitter {
  isRaw: boolean;
  setRawMode(raw: boolean): unknown;
  resume(): unknown;
  pause(): unknown;
}

/** Asks one secret after another on the terminal; close() gives the terminal back. */
export interface HiddenPrompt {
  ask(prompt: string): Promise<string>;
  close(): void;
}

/** The person stopped at a prompt: Ctrl-C, Ctrl-D on an empty line, or the terminal went away. */
export class PromptCancelled extends Error {
  constructor(readonly key: 'ctrl-c' | 'ctrl-d' | 'end') {
    super(key === 'ctrl-c' ? 'interrupted at the prompt; nothing was changed' : 'end of input at the prompt; nothing was changed');
  }
  /** 130 for Ctrl-C (as a shell reports SIGINT), 1 otherwise. */
  get exitCode(): number {
    return this.key === 'ctrl-c' ? 130 : 1;
  }
}

// Longer than any secret we accept (passwords stop at 1024): a bound on memory, not a rule.
const MAX_CHARS = 4096;

/**
 * Put the terminal in raw mode (no echo, no line editing by the kernel) and read lines from it.
 * Typed-ahead input (a paste of two lines) is kept for the next ask().
 */
export function openHiddenPrompt(input: TerminalInput, write: (text: string) => void): HiddenPrompt {
  const wasRaw = input.isRaw;
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let line: string[] = [];
  let escape: 'none' | 'start' | 'sequence' = 'none';
  let afterCr = false;
  let ended = false;
  let failure: Error | undefined;
  let closed = false;
  let waiter: { resolve: (v: string) => void; reject: (e: Error) => void } | undefined;

  const finish = (outcome: { value: string } | { error: Error }) => {
    const w = waiter;
    waiter = undefined;
    line = [];
    if (w === undefined) return;
    if ('value' in outcome) w.resolve(outcome.value);
    else w.reject(outcome.error);
  };

  // One character at a time; true when the line is finished (or the prompt cancelled).
  const key = (ch: string): boolean => {
    if (escape === 'start') {
      // ESC [ or ESC O starts a sequence (arrow keys, Delete, F-keys); ESC x is Alt-x: dropped.
      escape = ch === '[' || ch === 'O' ? 'sequence' : 'none';
      return false;
    }
    if (escape === 'sequence') {
      const c = ch.codePointAt(0)!;
      if (c >= 0x40 && c <= 0x7e) escape = 'none';
      return false;
    }
    const wasCr = afterCr;
    afterCr = false;
    switch (ch) {
      case '\r':
      case '\n':
        if (ch === '\n' && wasCr) return false; // the \n of a pasted \r\n
        afterCr = ch === '\r';
        write('\n');
        finish({ value: line.join('') });
        return true;
      case '\x7f':
      case '\b':
        line.pop();
        return false;
      case '\x15': // Ctrl-U: start the line again
        line = [];
        return false;
      case '\x03':
        write('^C\n');
        finish({ error: new PromptCancelled('ctrl-c') });
        return true;
      case '\x04':
        // As a terminal does: Ctrl-D ends what was typed, or the input when nothing was.
        write('\n');
        if (line.length === 0) finish({ error: new PromptCancelled('ctrl-d') });
        else finish({ value: line.join('') });
        return true;
      case '\x1b':
        escape = 'start';
        return false;
      default:
        if (ch.codePointAt(0)! < 0x20) return false; // other control keys (Tab, Ctrl-letters)
        if (line.length < MAX_CHARS) line.push(ch);
        return false;
    }
  };

  const pump = () => {
    if (waiter === undefined) return;
    let used = 0;
    for (const ch of pending) {
      used += ch.length;
      if (key(ch)) break;
    }
    pending = pending.slice(used);
    if (waiter === undefined) return;
    if (failure !== undefined) finish({ error: failure });
    else if (ended) {
      write('\n');
      finish({ error: new PromptCancelled('end') });
    }
  };

  const onData = (chunk: Buffer | string) => {
    pending += typeof chunk === 'string' ? chunk : decoder.write(chunk);
    pump();
  };
  const onEnd = () => {
    ended = true;
    pump();
  };
  const onError = (e: Error) => {
    failure = new Error(`cannot read the terminal: ${e.message}`);
    pump();
  };

  const close = () => {
    if (closed) return;
    closed = true;
    input.removeListener('data', onData);
    input.removeListener('end', onEnd);
    input.removeListener('error', onError);
    try {
      input.setRawMode(wasRaw);
    } finally {
      input.pause();
      if (waiter !== undefined) finish({ error: new PromptCancelled('end') });
    }
  };

  input.setRawMode(true);
  input.on('data', onData);
  input.on('end', onEnd);
  input.on('error', onError);
  input.resume();

  return {
    ask(prompt: string) {
      if (closed) return Promise.reject(new Error('the prompt is closed'));
      if (waiter !== undefined) return Promise.reject(new Error('a prompt is already waiting'));
      return new Promise<string>((resolve, reject) => {
        waiter = { resolve, reject };
        write(prompt);
        pump();
      });
    },
    close,
  };
}

export interface SecretSpec {
  /** The prompt on a terminal, e.g. "Password for admin alice: ". */
  prompt: string;
  /** Ask again ("Again: ") on a terminal: a new secret, where a typo would lock its owner out. */
  confirm: boolean;
  /** What it is, for errors about a typed one: "password". */
  name: string;
  /** The same for one read from standard input: "password on standard input". */
  stdinName: string;
  /** Why a value is refused, or null. */
  problem(value: string): string | null;
}

/**
 * A secret from the person at the terminal (asked without echo, twice when `confirm`), or else the
 * first line of standard input. Never from argv, where other users of the machine could read it.
 * A refused value or a mismatch is a ConfigError (one line, exit 2).
 */
export async function readSecret(io: CliIo, spec: SecretSpec): Promise<string> {
  if (io.openPrompt === null) {
    const text = await io.readStdin();
    const value = text.split(/\r?\n/)[0] ?? '';
    const problem = spec.problem(value);
    if (problem !== null) throw new ConfigError(`${spec.stdinName}: ${problem}`);
    return value;
  }
  const prompt = io.openPrompt();
  try {
    const value = await prompt.ask(spec.prompt);
    // Checked before asking again: no need to type a refused secret twice.
    const problem = spec.problem(value);
    if (problem !== null) throw new ConfigError(`${spec.name}: ${problem}`);
    if (spec.confirm && (await prompt.ask('Again: ')) !== value) throw new ConfigError(`the ${spec.name}s did not match; nothing was changed`);
    return value;
  } finally {
    prompt.close();
  }
}
