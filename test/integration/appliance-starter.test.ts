// The tests' own starter for `bin/gatehouse` (test/helpers/appliance.ts): a port picked as free can
// be taken before gatehouse binds it (another test, another process on a shared machine). The
// starter then tries again with new ports instead of failing the test, like the FreeRADIUS starter.
// And what every start leaves in the store: the node's heartbeat row.
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rm } from 'node:fs/promises';
import { openStore } from '../../app/db/open.js';
import { listNodes } from '../../app/db/queries/nodes.js';
import { freeTcpPort, startAppliance, startApplianceRefused, tempDir } from '../helpers/appliance.js';
import { freeUdpPort } from '../helpers/freeradius.js';

function holdTcp(): Promise<Server> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
}

function holdUdp(): Promise<Socket> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.bind(0, '127.0.0.1', () => resolve(s));
  });
}

/** Hands out `first` on the first try, free ports after that; counts the tries. */
function picker(first: { radius: number; http: number }) {
  let tries = 0;
  return {
    tries: () => tries,
    pick: async () => (tries++ === 0 ? first : { radius: await freeUdpPort(), http: await freeTcpPort() }),
  };
}

test('an HTTP port taken before gatehouse binds it: the starter tries new ports', async () => {
  const held = await holdTcp();
  const taken = (held.address() as { port: number }).port;
  const ports = picker({ radius: await freeUdpPort(), http: taken });
  const gh = await startAppliance({ pickPorts: ports.pick });
  try {
    assert.is(ports.tries(), 2);
    assert.is.not(gh.httpPort, taken);
    assert.is((await fetch(`http://127.0.0.1:${gh.httpPort}/healthz`)).status, 200);
  } finally {
    await gh.stop();
    held.close();
  }
});

test('a RADIUS port taken before gatehouse binds it: the starter tries new ports', async () => {
  const held = await holdUdp();
  const taken = held.address().port;
  const ports = picker({ radius: taken, http: await freeTcpPort() });
  const gh = await startAppliance({ pickPorts: ports.pick });
  try {
    assert.is(ports.tries(), 2);
    assert.is.not(gh.radiusPort, taken);
  } finally {
    await gh.stop();
    held.close();
  }
});

test('a port taken on every try: the starter gives up after three with gatehouse\'s error', async () => {
  const held = await holdTcp();
  const taken = (held.address() as { port: number }).port;
  let tries = 0;
  const pick = async () => (tries++, { radius: await freeUdpPort(), http: taken });
  try {
    const err = await startApplianceRefused({ pickPorts: pick });
    assert.match(err.message, `EADDRINUSE: address already in use 127.0.0.1:${taken}`);
    assert.is(tries, 3);
  } finally {
    held.close();
  }
});

test('a running appliance writes its heartbeat row under --node-name, and says it stopped', async () => {
  const gh = await startAppliance({ args: ['--node-name', 'gh-test-1'], dataDir: await tempDir() });
  const read = async () => {
    const store = openStore(gh.dataDir);
    try {
      return await listNodes(store);
    } finally {
      store.close();
    }
  };
  try {
    const [row] = await read();
    assert.is(row?.name, 'gh-test-1');
    assert.is((JSON.parse(row!.health) as { downstream: string }).downstream, 'none', 'no downstream server configured');
    assert.ok(Date.now() - row!.heartbeatAt < 30_000, 'a fresh heartbeat');
  } finally {
    assert.is(await gh.stop(), 0);
  }
  const [after] = await read();
  assert.equal(JSON.parse(after!.health), { stopped: true });
  await rm(gh.dataDir, { recursive: true, force: true });
});

test.run();
