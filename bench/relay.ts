// The floor: a bare RADIUS relay in Node.js, measured beside Gatehouse and the FreeRADIUS proxy.
// It does what any RADIUS proxy must and nothing more: the User-Password re-hidden for the
// downstream secret, a fresh Request Authenticator, the Message-Authenticator re-signed both ways,
// the downstream answer's Response Authenticator checked, and the answer re-signed for the client.
// No audit record, no user lookup, no second factor, no retransmission cache, no promises or
// timers per request: what a Node.js process on this machine cannot go below, so that the bench
// shows how much of Gatehouse's cost is its own work and how much is the runtime's UDP path.
//
//   node --import tsx bench/relay.ts PORT_IN CLIENT_SECRET DOWN_PORT DOWN_SECRET
//
// Prints `ready` once both sockets are bound. Loopback only; one client, one downstream server.
// Its RADIUS framing is written here, apart from app/radius/ (like bench/loadgen.ts).
import { createHash, createHmac, randomFillSync } from 'node:crypto';
import dgram from 'node:dgram';

const [portIn, clientSecretText, downPort, downSecretText] = process.argv.slice(2);
if (downSecretText === undefined) {
  process.stderr.write('usage: relay.ts PORT_IN CLIENT_SECRET DOWN_PORT DOWN_SECRET\n');
  process.exit(2);
}
const clientSecret = Buffer.from(clientSecretText!);
const downSecret = Buffer.from(downSecretText);
const USER_PASSWORD = 2;
const MESSAGE_AUTHENTICATOR = 80;

const md5 = (a: Buffer, b: Buffer): Buffer => createHash('md5').update(a).update(b).digest();
const hmacMd5 = (key: Buffer, data: Buffer): Buffer => createHmac('md5', key).update(data).digest();

/** Offset of the first attribute of this type, or -1 (also for a broken attribute list). */
function attrAt(p: Buffer, type: number): number {
  for (let o = 20; o + 2 <= p.length; o += p[o + 1]!) {
    if (p[o + 1]! < 2) return -1;
    if (p[o] === type) return o;
  }
  return -1;
}

/** The Message-Authenticator (RFC 3579) is HMAC-MD5(secret, packet with its value zeroed). */
function maValue(p: Buffer): number {
  const at = attrAt(p, MESSAGE_AUTHENTICATOR);
  return at >= 0 && p[at + 1] === 18 ? at + 2 : -1;
}
/** Whether the packet's Message-Authenticator, if it has one, is right; its value is left zeroed. */
function checkMa(p: Buffer, secret: Buffer): boolean {
  const at = maValue(p);
  if (at < 0) return attrAt(p, MESSAGE_AUTHENTICATOR) < 0;
  const carried = Buffer.from(p.subarray(at, at + 16));
  p.fill(0, at, at + 16);
  return hmacMd5(secret, p).equals(carried);
}
/** Sign the packet's Message-Authenticator, if it has one (its value zeroed by checkMa). */
function signMa(p: Buffer, secret: Buffer): void {
  const at = maValue(p);
  if (at >= 0) hmacMd5(secret, p).copy(p, at);
}

interface Waiting {
  address: string;
  port: number;
  identifier: number;
  requestAuthenticator: Buffer;
  downAuthenticator: Buffer;
}

const fromClients = dgram.createSocket('udp4');
const toServer = dgram.createSocket('udp4');
/** Requests in flight downstream by identifier (the bench keeps at most 256 in flight). */
const waiting: (Waiting | undefined)[] = new Array<Waiting | undefined>(256);
let nextId = 0;
const random = Buffer.alloc(16 * 1024);
let randomAt = random.length;

fromClients.on('message', (req, from) => {
  if (req.length < 20 || req[0] !== 1 || req.readUInt16BE(2) !== req.length) return;
  const out = Buffer.from(req);
  if (!checkMa(out, clientSecret)) return;
  if (randomAt === random.length) {
    randomFillSync(random);
    randomAt = 0;
  }
  const downAuthenticator = Buffer.from(random.subarray(randomAt, (randomAt += 16)));
  downAuthenticator.copy(out, 4);
  const id = nextId;
  nextId = (nextId + 1) & 255;
  out[1] = id;
  // RFC 2865 5.2: each 16-byte block is XORed with MD5(secret + previous cipher block); undo the
  // client's chain and apply the server's in one pass.
  const pw = attrAt(out, USER_PASSWORD);
  if (pw >= 0) {
    const len = out[pw + 1]! - 2;
    let prevIn = req.subarray(4, 20);
    let prevOut = downAuthenticator as Buffer;
    for (let i = 0; i + 16 <= len; i += 16) {
      const kIn = md5(clientSecret, prevIn);
      const kOut = md5(downSecret, prevOut);
      const at = pw + 2 + i;
      for (let j = 0; j < 16; j++) out[at + j] = req[at + j]! ^ kIn[j]! ^ kOut[j]!;
      prevIn = req.subarray(at, at + 16);
      prevOut = out.subarray(at, at + 16);
    }
  }
  signMa(out, downSecret);
  waiting[id] = { address: from.address, port: from.port, identifier: req[1]!, requestAuthenticator: Buffer.from(req.subarray(4, 20)), downAuthenticator };
  toServer.send(out, Number(downPort), '127.0.0.1');
});

toServer.on('message', (ans) => {
  if (ans.length < 20) return;
  const w = waiting[ans[1]!];
  if (w === undefined) return;
  // The Response Authenticator: MD5(code, id, length, request authenticator, attributes, secret).
  const got = Buffer.from(ans.subarray(4, 20));
  w.downAuthenticator.copy(ans, 4);
  if (!md5(ans, downSecret).equals(got)) return;
  if (!checkMa(ans, downSecret)) return;
  waiting[ans[1]!] = undefined;
  ans[1] = w.identifier;
  w.requestAuthenticator.copy(ans, 4);
  signMa(ans, clientSecret);
  md5(ans, clientSecret).copy(ans, 4);
  fromClients.send(ans, w.port, w.address);
});

let bound = 0;
const onBound = (sock: dgram.Socket) => () => {
  sock.setRecvBufferSize(4 * 1024 * 1024);
  if (++bound === 2) process.stdout.write('ready\n');
};
fromClients.bind(Number(portIn), '127.0.0.1', onBound(fromClients));
toServer.bind(0, '127.0.0.1', onBound(toServer));
