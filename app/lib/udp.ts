// dgram sockets for the RADIUS legs. They send only to IP literals (a client's source address, a
// downstream server's address resolved once in app/radius/downstream.ts), so the address lookup
// dgram does before every send is handed back in the same turn. Node's default, dns.lookup, tests
// the literal with isIP and defers the send to a process.nextTick: about 0.5 us a send, two sends
// per proxied request (measured on the bench machine). A name still goes to dns.lookup.
import dgram from 'node:dgram';
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

/** All digits and dots (what resolvers take as an IPv4 address), or a colon (only IPv6 has one). */
const LITERAL = /^[\d.]+$|:/;

function literalLookup(address: string, options: LookupOneOptions | number, callback: LookupCallback): void {
  const family = typeof options === 'number' ? options : options.family === 6 ? 6 : 4;
  if (LITERAL.test(address)) return callback(null, address, family);
  dnsLookup(address, { family }, callback);
}

export function udpSocket(type: 'udp4' | 'udp6'): dgram.Socket {
  return dgram.createSocket({ type, lookup: literalLookup as dgram.SocketOptions['lookup'] });
}
