// The password prompt's keys and its terminal handling, over a fake terminal that records its
// raw mode: every way out of a prompt gives the terminal back as it was. (What a person sees on
// a real pseudo-terminal is tested in test/integration/cli-prompt.test.ts.)
import { EventEmitter } from 'node:events';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../../app/config.js';
import type { CliIo } from '../../app/cli/context.js';
import { openHiddenPrompt, PromptCancelled, readSecret, type TerminalInput } from '../../app/cli/prompt.js';

class FakeTerminal extends EventEmitter implements TerminalInput {
  isRaw = false;
  flowing = false;
  modes: boolean[] = [];
  written = '';
  /** Answers typed as their prompt is shown, in order: [prompt, keys]. */
  replies: [string, string][] = [];
  write(text: string): void {
    this.written += text;
    const next = this.replies[0];
    if (next !== undefined && text === next[0]) {
      this.replies.shift();
      setImmediate(() => this.type(next[1]));
    }
  }
  setRawMode(raw: boolean): this {
    this.isRaw = raw;
    this.modes.push(raw);
    return this;
  }
  resume(): this {
    this.flowing = true;
    return this;
  }
  pause(): this {
    this.flowing = false;
    return this;
  }
  type(text: string | Buffer): void {
    this.emit('data', typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
  }
  /** Given back: cooked mode, not read from, no listener of the prompt left. */
  restored(): boolean {
    return !this.isRaw && !this.flowing && this.listenerCount('data') === 0 && this.listenerCount('end') === 0 && this.listenerCount('error') === 0;
  }
}

function open(t: FakeTerminal) {
  return openHiddenPrompt(t, (s) => t.write(s));
}

/** A rejection of `p`, for asserting on it. */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

const Keys = suite('cli/prompt keys');

Keys('Enter ends the answer; nothing typed is written back; raw mode only while asking', async () => {
  const t = new FakeTerminal();
  const p = open(t);
  assert.ok(t.isRaw, 'raw (no echo) before the prompt is shown');
  const answer = p.ask('Password: ');
  t.type('correct horse battery');
  t.type('\r');
  assert.is(await answer, 'correct horse battery');
  p.close();
  assert.is(t.written, 'Password: \n', 'only the prompt and a new line reach the terminal');
  assert.ok(t.restored());
  assert.equal(t.modes, [true, false]);
});

Keys('Backspace (DEL and ^H) removes the last character, a whole one even outside the BMP; Ctrl-U starts over', async () => {
  const t = new FakeTerminal();
  const p = open(t);
  const a = p.ask('> ');
  t.type('wrongX\x7f\x7f\x7f\x7f\x7f\x7fright pass\u00e9\u{1F511}\x7fX\bword\r');
  assert.is(await a, 'right pass\u00e9word');
  const b = p.ask('> ');
  t.type('typo here\x15clean start\r');
  assert.is(await b, 'clean start');
  const c = p.ask('> ');
  t.type('\x7f\x7fok\r');
  assert.is(await c, 'ok', 'backspace on an empty line does nothing');
  p.close();
});

Keys('arrow keys, Delete, F-keys, Alt-x, Tab and other control keys add nothing to the secret', async () => {
  const t = new FakeTerminal();
  const p = open(t);
  const a = p.ask('> ');
  t.type('ab\x1b[D\x1b[3~\x1bOP\x1b[1;5C\x1bxc\t\x01\x02d\r');
  assert.is(await a, 'abcd');
  p.close();
});

Keys('UTF-8 split across reads is put back together', async () => {
  const t = new FakeTerminal();
  const p = open(t);
  const a = p.ask('> ');
  const bytes = Buffer.from('p\u00e4ss \u{1F511}\r', 'utf8');
  for (const b of bytes) t.type(Buffer.from([b]));
  assert.is(await a, 'p\u00e4ss \u{1F511}');
  p.close();
});

Keys('typed ahead (a paste of two lines, with \\r\\n or \\n) is kept for the next prompt', async () => {
  for (const nl of ['\r\n', '\n', '\r']) {
    const t = new FakeTerminal();
    const p = open(t);
    const first = p.ask('Password: ');
    t.type(`first secret${nl}second secret${nl}`);
    assert.is(await first, 'first secret');
    assert.is(await p.ask('Again: '), 'second secret', JSON.stringify(nl));
    p.close();
    assert.is(t.written, 'Password: \nAgain: \n');
  }
});

Keys('a very long paste is bounded (4096 characters kept)', async () => {
  const t = new FakeTerminal();
  const p = open(t);
  const a = p.ask('> ');
  t.type(`${'x'.repeat(10_000)}\r`);
  assert.is((await a).length, 4096);
  p.close();
});

const Exits = suite('cli/prompt ways out');

Exits('Ctrl-C cancels (exit 130), shows ^C, and what was typed is dropped', async () => {
  const t = new FakeTerminal();
  const p = open(t);
  const a = p.ask('Password: ');
  t.type('half a pass\x03');
  const e = await rejection(a);
  assert.instance(e, PromptCancelled);
  assert.is((e as PromptCancelled).key, 'ctrl-c');
  assert.is((e as PromptCancelled).exitCode, 130);
  p.close();
  assert.is(t.written, 'Password: ^C\n');
  assert.ok(t.restored());
});

Exits('Ctrl-D on an empty line is the end of input (exit 1); after text it ends the line, as a terminal does', async () => {
  const t = new FakeTerminal();
  const p = open(t);
  const a = p.ask('> ');
  t.type('typed\x04');
  assert.is(await a, 'typed');
  const b = p.ask('> ');
  t.type('\x04');
  const e = await rejection(b);
  assert.instance(e, PromptCancelled);
  assert.is((e as PromptCancelled).key, 'ctrl-d');
  assert.is((e as PromptCancelled).exitCode, 1);
  p.close();
  assert.ok(t.restored());
});

Exits('the terminal going away (end of the stream) or a read error ends a waiting prompt', async () => {
  const t = new FakeTerminal();
  const p = open(t);
  const a = p.ask('> ');
  t.type('partial');
  t.emit('end');
  assert.is(((await rejection(a)) as PromptCancelled).key, 'end');
  p.close();
  assert.ok(t.restored());
  const t2 = new FakeTerminal();
  const p2 = open(t2);
  const b = p2.ask('> ');
  t2.emit('error', new Error('EIO'));
  assert.match(((await rejection(b)) as Error).message, /cannot read the terminal: EIO/);
  p2.close();
  assert.ok(t2.restored());
});

Exits('close() while a prompt waits ends it, and a terminal that was already raw stays raw', async () => {
  const t = new FakeTerminal();
  t.isRaw = true;
  const p = open(t);
  const a = p.ask('> ');
  p.close();
  assert.instance(await rejection(a), PromptCancelled);
  assert.is(t.isRaw, true, 'the mode it had before');
  assert.equal(t.modes, [true, true]);
  p.close();
  assert.equal(t.modes, [true, true], 'closing twice changes nothing');
  assert.instance(await rejection(p.ask('> ')), Error, 'a closed prompt asks nothing');
});

/** Standard input: a terminal (secrets are asked for), or text (read, and no prompt can open). */
function fakeIo(o: { stdin?: string; terminal?: FakeTerminal }): CliIo {
  const terminal = o.terminal;
  return {
    isTty: false,
    out: () => undefined,
    err: () => undefined,
    readStdin: async () => (terminal === undefined ? (o.stdin ?? '') : Promise.reject(new Error('standard input is a terminal: it is asked, not read to its end'))),
    openPrompt: terminal === undefined ? null : () => open(terminal),
  };
}
const SPEC = { prompt: 'Password for admin alice: ', confirm: true, name: 'password', stdinName: 'password on standard input', problem: (v: string) => (v.length < 12 ? 'the password must have at least 12 characters' : null) };

/** Answer each prompt as it is shown. */
function answer(t: FakeTerminal, answers: Record<string, string>): void {
  t.replies.push(...Object.entries(answers));
}

const Secret = suite('cli/prompt readSecret');

Secret('not a terminal: the first line of standard input, no prompt', async () => {
  const io = fakeIo({ stdin: 'a long admin password\nsecond line\n' });
  assert.is(await readSecret(io, SPEC), 'a long admin password');
  const e = await rejection(readSecret(fakeIo({ stdin: 'short\n' }), SPEC));
  assert.instance(e, ConfigError);
  assert.is((e as Error).message, 'password on standard input: the password must have at least 12 characters');
});

Secret('a terminal: asked twice; the same answer is the secret; the terminal is given back', async () => {
  const t = new FakeTerminal();
  const io = fakeIo({ terminal: t });
  answer(t, { 'Password for admin alice: ': 'a long admin password\r', 'Again: ': 'a long admin password\r' });
  assert.is(await readSecret(io, SPEC), 'a long admin password');
  assert.is(t.written, 'Password for admin alice: \nAgain: \n');
  assert.ok(t.restored());
});

Secret('a terminal: a mismatch is a one-line error, and the terminal is given back', async () => {
  const t = new FakeTerminal();
  answer(t, { 'Password for admin alice: ': 'a long admin password\r', 'Again: ': 'a long admin passwort\r' });
  const e = await rejection(readSecret(fakeIo({ terminal: t }), SPEC));
  assert.instance(e, ConfigError);
  assert.is((e as Error).message, 'the passwords did not match; nothing was changed');
  assert.ok(t.restored());
});

Secret('a terminal: a refused secret is refused before asking again', async () => {
  const t = new FakeTerminal();
  answer(t, { 'Password for admin alice: ': 'short\r' });
  const e = await rejection(readSecret(fakeIo({ terminal: t }), SPEC));
  assert.is((e as Error).message, 'password: the password must have at least 12 characters');
  assert.not.match(t.written, /Again/);
  assert.ok(t.restored());
});

Secret('a terminal, one answer when confirm is off (a restore only tries the passphrase)', async () => {
  const t = new FakeTerminal();
  answer(t, { 'Backup passphrase: ': 'whatever it was\r' });
  assert.is(await readSecret(fakeIo({ terminal: t }), { ...SPEC, prompt: 'Backup passphrase: ', confirm: false }), 'whatever it was');
  assert.is(t.written, 'Backup passphrase: \n');
  assert.ok(t.restored());
});

Keys.run();
Exits.run();
Secret.run();
