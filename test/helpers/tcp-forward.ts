// A TCP forwarder on loopback standing for the address that follows a database's primary (a
// virtual IP, a DNS name moved at fail-over): clients connect to it, it connects them on to the
// current target; `retarget` moves it and cuts the connections it carried, as a moved address would.
import net from 'node:net';

export interface TcpForward {
  port: number;
  retarget(port: number): void;
  close(): Promise<void>;
}

export async function startTcpForward(targetPort: number): Promise<TcpForward> {
  let target = targetPort;
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('close', () => open.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    retarget(port) {
      target = port;
      for (const s of open) s.destroy();
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of open) s.destroy();
        server.close(() => r());
      }),
  };
}
