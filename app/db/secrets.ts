// AES-256-GCM sealing of secrets at rest (RADIUS shared secrets, later TOTP seeds).
// Layout: version(1)=1 | iv(12) | tag(16) | ciphertext. The purpose string is bound as AAD so a
// sealed value cannot be moved into another column and still open.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const VERSION = 1;
export const MASTER_KEY_FILE = 'master.key';

export interface Sealer {
  seal(plain: Buffer, purpose: string): Buffer;
  open(sealed: Buffer, purpose: string): Buffer;
}

export function createSealer(key: Buffer): Sealer {
  if (key.length !== 32) throw new Error('master key must be 32 bytes');
  return {
    seal(plain, purpose) {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, iv);
      c.setAAD(Buffer.from(purpose, 'utf8'));
      const ct = Buffer.concat([c.update(plain), c.final()]);
      return Buffer.concat([Buffer.from([VERSION]), iv, c.getAuthTag(), ct]);
    },
    open(sealed, purpose) {
      if (sealed.length < 29 || sealed[0] !== VERSION) throw new Error(`sealed ${purpose}: unknown format`);
      const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 13));
      d.setAAD(Buffer.from(purpose, 'utf8'));
      d.setAuthTag(sealed.subarray(13, 29));
      try {
        return Buffer.concat([d.update(sealed.subarray(29)), d.final()]);
      } catch {
        throw new Error(`sealed ${purpose}: cannot be opened with this master key`);
      }
    },
  };
}

/**
 * The master key: GATEHOUSE_MASTER_KEY (64 hex chars or base64 of 32 bytes) when set, else
 * DATA_DIR/master.key, created on first start with mode 0600.
 */
export function loadMasterKey(dataDir: string, envValue: string | undefined): Buffer {
  if (envValue !== undefined && envValue !== '') {
    const key = /^[0-9a-fA-F]{64}$/.test(envValue) ? Buffer.from(envValue, 'hex') : Buffer.from(envValue, 'base64');
    if (key.length !== 32) throw new Error('GATEHOUSE_MASTER_KEY must be 32 bytes, as 64 hex characters or base64');
    return key;
  }
  const file = join(dataDir, MASTER_KEY_FILE);
  if (existsSync(file)) {
    const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
    if (key.length !== 32) throw new Error(`${file} does not hold a 32-byte base64 key`);
    return key;
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  try {
    writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  } catch (e) {
    // Another gatehouse process (a CLI command beside the appliance) created it first.
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return loadMasterKey(dataDir, undefined);
    throw e;
  }
  chmodSync(file, 0o600);
  return key;
}
