// Start `bin/gatehouse serve` for the benchmark through the tests' starter, with Node flags of
// its own (--cpu-prof is not allowed in NODE_OPTIONS), an existing data directory, and
// BENCH_GATEHOUSE_BIN / BENCH_GATEHOUSE_ENV to try another build or switch.
import { GATEHOUSE, startAppliance, type Appliance } from '../test/helpers/appliance.js';

/** BENCH_GATEHOUSE_BIN runs another build (e.g. a copy of the checkout with a change to try). */
export const GATEHOUSE_BIN = process.env['BENCH_GATEHOUSE_BIN'] || GATEHOUSE;

/** BENCH_GATEHOUSE_ENV="K=V,K2=V2" adds variables to Gatehouse's environment (to A/B a switch). */
export function extraEnv(): Record<string, string> {
  const spec = process.env['BENCH_GATEHOUSE_ENV'] ?? '';
  return Object.fromEntries(
    spec
      .split(',')
      .filter((kv) => kv.includes('='))
      .map((kv) => [kv.slice(0, kv.indexOf('=')).trim(), kv.slice(kv.indexOf('=') + 1)]),
  );
}

/** The store the benchmark runs on: set to DATABASE_URL for BENCH_STORE=postgres. */
export const storeEnv: Record<string, string> = {};

export function startGatehouse(dataDir: string, args: string[], nodeArgs: string[] = []): Promise<Appliance> {
  return startAppliance({ dataDir, args, nodeArgs, bin: GATEHOUSE_BIN, env: { ...extraEnv(), ...storeEnv }, readyMs: 20_000 });
}
