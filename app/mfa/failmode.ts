// What to do when the push service cannot be reached. Pure.
export type Failmode = 'secure' | 'safe';

export interface FailmodeVerdict {
  accept: boolean;
  reason: 'failmode_secure' | 'failmode_safe';
}

export function failmodeVerdict(mode: Failmode): FailmodeVerdict {
  return mode === 'safe' ? { accept: true, reason: 'failmode_safe' } : { accept: false, reason: 'failmode_secure' };
}
