// Debian's Chromium driven by playwright-core (no browser download), for the admin UI tests.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { base32Decode, hotp, totpStep } from '../../app/mfa/otp.js';
import { ROOT } from './appliance.js';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = join(ROOT, 'test-artifacts', 'screenshots');

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install the Debian package chromium (apt-get install chromium)`);
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    // As root in a container Chromium needs --no-sandbox; the rest keeps it off the network.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * Sign a new admin in for the first time, as a person would: name and password, then the TOTP
 * enrolment page (the code computed from the shown URI). Returns the admin's seed and the step
 * of the code used (each step works once).
 */
export async function firstSignIn(page: Page, base: string, name: string, password: string): Promise<{ seed: Buffer; lastStep: number }> {
  await page.goto(`${base}/login`);
  await page.fill('#f-name', name);
  await page.fill('#f-password', password);
  await page.click('button[type=submit]');
  await page.waitForURL(`${base}/login/enrol`);
  const uri = (await page.textContent('#enrol-uri'))!.trim();
  const seed = base32Decode(new URL(uri).searchParams.get('secret')!);
  const step = totpStep(Date.now(), 30);
  await page.fill('#f-code', hotp(seed, step, 6));
  await page.click('button[type=submit]');
  await page.waitForURL(`${base}/`);
  return { seed, lastStep: step };
}

/** The page's width against its viewport's (wider: a horizontal scroll bar on a phone). */
export function overflowsViewport(page: Page): Promise<{ scrollWidth: number; viewport: number }> {
  // A string: this runs in the page, and the project's TypeScript has no DOM types.
  return page.evaluate('({ scrollWidth: document.documentElement.scrollWidth, viewport: window.innerWidth })');
}

/**
 * The WCAG contrast ratio of an element's text against the background it is drawn on (the first
 * ancestor with an opaque background colour).
 */
export function textContrast(page: Page, selector: string): Promise<number> {
  return page.evaluate(`(() => {
    const parse = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
    const lum = (rgb) => {
      const [r, g, b] = rgb.slice(0, 3).map((v) => { const s = v / 255; return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4; });
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const el = document.querySelector(${JSON.stringify(selector)});
    if (el === null) throw new Error('no element ' + ${JSON.stringify(selector)});
    const fg = parse(getComputedStyle(el).color);
    let bg = [255, 255, 255, 1];
    for (let e = el; e !== null; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length >= 4 && c[3] > 0.9)) { bg = c; break; }
    }
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    return (a + 0.05) / (b + 0.05);
  })()`);
}
