/** Debian's Chromium driven by playwright-core: never a downloaded browser. */
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launch(): Promise<Browser> {
  // launch() gives every browser a fresh, empty user-data-dir of its own.
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30_000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** The ids of the messages the page shows, in order. */
export function renderedIds(page: Page): Promise<string[]> {
  return page.$$eval('[data-testid="messages"] li', (items) => items.map((li) => li.getAttribute('data-id') ?? '?'));
}

/** The text of one panel field (`state`, `seq`, `replayed`, `truncated`, ...). */
export async function panel(page: Page, field: string): Promise<string> {
  return (await page.textContent(`[data-testid="${field}"]`, { timeout: 5000 })) ?? '';
}
