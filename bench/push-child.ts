// The push API stand-in (test/helpers/push-server.ts) in a process of its own, for the pending
// approvals benchmark: Gatehouse polls every pending request about once a second, and that load
// must not slow the process that measures Gatehouse's responsiveness. Driven over IPC.
import { startPushServer } from '../test/helpers/push-server.js';

export type PushToChild = { type: 'stats' } | { type: 'decideAll'; decision: 'approve' | 'deny' } | { type: 'lags' } | { type: 'close' };
export type PushFromChild =
  | { type: 'ready'; url: string }
  | { type: 'stats'; creates: number; distinctUsers: number; polls: number }
  | { type: 'decided'; count: number; at: number }
  /** From the decision to the first poll that saw it: how many were seen, and when (ms). */
  | { type: 'lags'; seen: number; p50: number; p99: number; max: number };

if (process.send !== undefined && process.argv.includes('--push-child')) {
  const server = await startPushServer({ kind: 'pending' });
  const send = (m: PushFromChild) => process.send!(m);
  process.on('message', (m: PushToChild) => {
    if (m.type === 'stats') {
      send({ type: 'stats', creates: server.creates.length, distinctUsers: new Set(server.creates.map((c) => c.username)).size, polls: server.polls });
    } else if (m.type === 'decideAll') {
      for (const c of server.creates) server.decide(c.uuid, m.decision);
      send({ type: 'decided', count: server.creates.length, at: Date.now() });
    } else if (m.type === 'lags') {
      const lags = server.decisionLags().sort((a, b) => a - b);
      const at = (p: number) => lags[Math.min(lags.length - 1, Math.max(0, Math.ceil(p * lags.length) - 1))] ?? NaN;
      send({ type: 'lags', seen: lags.length, p50: at(0.5), p99: at(0.99), max: at(1) });
    } else if (m.type === 'close') {
      void server.close().then(() => process.disconnect());
    }
  });
  send({ type: 'ready', url: server.url });
}
