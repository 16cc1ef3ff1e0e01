// The client leg's transport: one UDP socket for RADIUS clients. No decisions here.
import { udpSocket } from '../lib/udp.js';

export interface Listener {
  address: string;
  port: number;
  send(buf: Buffer, port: number, address: string): void;
  close(): Promise<void>;
}

export async function listenRadius(address: string, port: number, onPacket: (buf: Buffer, address: string, port: number) => void, onError: (e: Error) => void): Promise<Listener> {
  // The address was checked when the settings were read: an IPv6 literal is the one with a colon.
  // (net.isIPv6 would cost the start 8-10 ms: its first call compiles a very large regular
  // expression.)
  const sock = udpSocket(address.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, address, () => {
      sock.off('error', reject);
      resolve();
    });
  });
  // Bursts from a busy concentrator overflow the kernel's default buffer at ~256 in flight.
  for (const set of [() => sock.setRecvBufferSize(8 * 1024 * 1024), () => sock.setSendBufferSize(4 * 1024 * 1024)]) {
    try {
      set();
    } catch {
      // capped by net.core.rmem_max / wmem_max: keep the default
    }
  }
  sock.on('message', (buf, rinfo) => onPacket(buf, rinfo.address, rinfo.port));
  sock.on('error', onError);
  const bound = sock.address();
  return {
    address: bound.address,
    port: bound.port,
    send: (buf, p, a) => sock.send(buf, p, a),
    close: () => new Promise<void>((r) => sock.close(() => r())),
  };
}
