// Windows logon pipe protocol v1 framing: a 4-byte little-endian length N (1..65536), then N
// bytes of UTF-8 JSON holding one object. Pure: no sockets here.
export const MAX_FRAME = 65536;

export type FrameError = 'zero_length' | 'too_long';

export function encodeFrame(message: object): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  if (body.length === 0 || body.length > MAX_FRAME) throw new RangeError(`frame of ${body.length} bytes is outside 1..${MAX_FRAME}`);
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32LE(body.length, 0);
  body.copy(out, 4);
  return out;
}

/** Accumulates bytes and returns the complete frame bodies; a bad length is a terminal error. */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);
  private failed: FrameError | undefined;

  push(chunk: Buffer): { frames: Buffer[]; error?: FrameError } {
    if (this.failed) return { frames: [], error: this.failed };
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const frames: Buffer[] = [];
    while (this.buf.length >= 4) {
      const n = this.buf.readUInt32LE(0);
      if (n === 0 || n > MAX_FRAME) {
        this.failed = n === 0 ? 'zero_length' : 'too_long';
        this.buf = Buffer.alloc(0);
        return { frames, error: this.failed };
      }
      if (this.buf.length < 4 + n) break;
      frames.push(this.buf.subarray(4, 4 + n));
      this.buf = this.buf.subarray(4 + n);
    }
    return { frames };
  }

  /** Bytes of an incomplete frame still waiting. */
  pending(): number {
    return this.buf.length;
  }
}

export type Scenario = 'logon' | 'unlock' | 'rdp' | 'credui';
export const SCENARIOS: readonly Scenario[] = ['logon', 'unlock', 'rdp', 'credui'];

export type Request =
  | { id: number; op: 'health' }
  | {
      id: number;
      op: 'authenticate';
      username: string;
      domain: string;
      workstation: string;
      scenario: Scenario;
      code: string | undefined;
      /**
       * Optional (added within v1): whether the credential provider hides every other sign-in
       * option, so that the second factor cannot be skipped through another tile. Absent: unknown.
       */
      enforced?: boolean;
      /**
       * Optional (added within v1): the client can show a number while the request waits. With
       * number matching on, such a request gets an interim reply with its id before the final one:
       * `{"id":N,"result":"number","number":42,"message":"..."}`.
       */
      numberMatching?: boolean;
    };

export type ParseResult = { ok: true; request: Request } | { ok: false; id: number | undefined; message: string };

const text = (v: unknown, max: number): string | undefined => (typeof v === 'string' && v.length <= max && !/[\u0000-\u001f\u007f]/.test(v) ? v : undefined);

/** Validate one frame's JSON. Unknown ops and malformed fields are errors (the caller closes). */
export function parseRequest(body: Buffer): ParseResult {
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch {
    return { ok: false, id: undefined, message: 'frame is not JSON' };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return { ok: false, id: undefined, message: 'frame is not a JSON object' };
  const o = v as Record<string, unknown>;
  const id = typeof o['id'] === 'number' && Number.isSafeInteger(o['id']) ? o['id'] : undefined;
  if (id === undefined) return { ok: false, id: undefined, message: 'request has no integer id' };
  if (o['op'] === 'health') return { ok: true, request: { id, op: 'health' } };
  if (o['op'] !== 'authenticate') return { ok: false, id, message: `unknown op ${JSON.stringify(String(o['op'])).slice(0, 40)}` };
  const username = text(o['username'], 256);
  const domain = text(o['domain'] ?? '', 256);
  const workstation = text(o['workstation'] ?? '', 256);
  const scenario = o['scenario'];
  const code = o['code'] === undefined || o['code'] === null ? undefined : text(o['code'], 16);
  if (username === undefined || username.trim() === '') return { ok: false, id, message: 'authenticate needs a username' };
  if (domain === undefined || workstation === undefined) return { ok: false, id, message: 'domain and workstation must be short strings' };
  if (typeof scenario !== 'string' || !(SCENARIOS as readonly string[]).includes(scenario)) return { ok: false, id, message: 'scenario must be logon, unlock, rdp or credui' };
  if (o['code'] !== undefined && o['code'] !== null && code === undefined) return { ok: false, id, message: 'code must be a short string' };
  const enforced = o['enforced'];
  if (enforced !== undefined && enforced !== null && typeof enforced !== 'boolean') return { ok: false, id, message: 'enforced must be true or false' };
  const numberMatching = o['number_matching'];
  if (numberMatching !== undefined && numberMatching !== null && typeof numberMatching !== 'boolean') return { ok: false, id, message: 'number_matching must be true or false' };
  const request: Request = { id, op: 'authenticate', username, domain, workstation, scenario: scenario as Scenario, code };
  if (typeof enforced === 'boolean') request.enforced = enforced;
  if (numberMatching === true) request.numberMatching = true;
  return { ok: true, request };
}
