/**
 * The chat view in a real browser (Debian's chromium driven by playwright-core): the user types a message,
 * the page shows it, then "Seen", the animated typing bubble, and the reply — in that order — all driven
 * by the real pipeline (webhook → SQS FIFO → poller → sender → local Graph). Saves a screenshot to
 * test/artifacts/. Skipped, with the reason, only when no chromium binary is found.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LOCAL_ACCOUNTS } from '../../local/defaults.ts';
import { type Stack, startStack } from '../../local/stack.ts';
import { memoryTelemetry } from '../support/telemetry.ts';

const executablePath = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
  (p): p is string => typeof p === 'string' && existsSync(p),
);
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const artifacts = join(import.meta.dirname, '..', 'artifacts');

/** Runs in the page: logs user/bot rows, the first "Seen" and typing bubble on/off, in order. */
const RECORD_ORDER = `(() => {
  const log = [];
  window.visibleOrder = log;
  const thread = document.getElementById('thread');
  const typing = document.getElementById('typing');
  let seen = false;
  // One observer over the whole phone, so the records keep the true order of the changes.
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === 'attributes' && r.target === typing) log.push(typing.hidden ? 'typing-off' : 'typing-on');
      for (const n of r.addedNodes) {
        if (n !== typing && n.classList?.contains('row') && n.parentElement === thread) log.push(n.classList.contains('user') ? 'user' : 'bot');
        if (!seen && n.classList?.contains('seen')) { seen = true; log.push('seen'); }
      }
    }
  }).observe(document.querySelector('.phone'), { childList: true, subtree: true, attributes: true, attributeFilter: ['hidden'] });
})()`;

const suite = executablePath ? describe : (describe.skip.bind(describe) as typeof describe);
if (!executablePath)
  console.warn(
    'browser test skipped: no chromium at $CHROMIUM_PATH or /usr/bin/chromium (apt-get install -y chromium)',
  );

suite('chat view in chromium', () => {
  let stack: Stack;
  let profile: string;

  beforeAll(async () => {
    // Slow enough for the typing bubble to be on screen a visible moment, fast enough for a test.
    stack = await startStack({
      env: { PLAN_TIME_SCALE: '0.5' },
      // As npm start: the selector writes on the account of its channel (WhatsApp below).
      accounts: LOCAL_ACCOUNTS,
      webhookOverrides: { telemetry: memoryTelemetry() },
      senderOverrides: { telemetry: memoryTelemetry() },
    });
    profile = mkdtempSync(join(tmpdir(), 'ellipsis-chromium-'));
    mkdirSync(artifacts, { recursive: true });
  });

  afterAll(async () => {
    await stack?.stop();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  /** A fresh chromium page on the chat view, connected ("Active now"); the browser closes afterwards. */
  const withChatPage = async (use: (page: Page) => Promise<void>) => {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: executablePath ?? '',
      headless: true,
      args: FLAGS,
      viewport: { width: 480, height: 800 },
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto(`${stack.url}/`);
      await page.locator('#status', { hasText: 'Active now' }).waitFor();
      await use(page);
    } finally {
      await context.close();
    }
  };

  test('shows the message, Seen, the typing bubble and then the reply; quick replies answer back', async () => {
    await withChatPage(async (page) => {
      // Record, in the page, the order in which things become visible (a string: no DOM types in this project).
      await page.evaluate(RECORD_ORDER);

      await page.locator('#text').fill('hello');
      await page.locator('#text').press('Enter');
      await page.locator('#thread .row.user .bubble', { hasText: 'hello' }).waitFor();
      await page.locator('#typing').waitFor({ state: 'visible', timeout: 15_000 });
      await page.screenshot({ path: join(artifacts, 'browser-typing.png') });
      await page.locator('#thread .row.bot:not(#typing) .bubble').first().waitFor({ timeout: 15_000 });
      expect(await page.locator('#typing').isHidden()).toBe(true);
      const chips = page.locator('.chip');
      expect(await chips.count()).toBeGreaterThan(0);
      await page.screenshot({ path: join(artifacts, 'browser-chat.png') });

      const order = (await page.evaluate('window.visibleOrder')) as string[];
      expect(order.slice(0, 5)).toEqual(['user', 'seen', 'typing-on', 'typing-off', 'bot']);

      // A quick reply is a tap: it is sent as the user's message with its payload, and answered.
      const chipTitle = (await chips.first().textContent()) ?? '';
      await chips.first().click();
      await page.locator('#thread .row.user .bubble', { hasText: chipTitle }).waitFor();
      // Messenger removes quick replies once the user answered.
      await page.locator('.chip').first().waitFor({ state: 'detached' });
      await page.locator('#thread .row.bot:not(#typing)').nth(1).waitFor({ timeout: 15_000 });
      const sent = stack.graph?.calls.filter((c) => c.kind === 'message').length ?? 0;
      expect(sent).toBe(2);
      await page.screenshot({ path: join(artifacts, 'browser-chat-quick-reply.png') });
    });
  });

  test('shows a very long inbound message whole but collapsed; a click expands it', async () => {
    await withChatPage(async (page) => {
      // Longer than /local/say takes: as Meta (or `npm run chat`) would post it, signed.
      const text = `${'long words '.repeat(2000)}end`;
      const psid = String(await page.evaluate("sessionStorage.getItem('ellipsis-psid')"));
      expect((await stack.say(psid, { text })).status).toBe(200);
      const bubble = page.locator('#thread .row.user .bubble.long');
      await bubble.waitFor();
      expect(await bubble.textContent()).toBe(text);
      const collapsed = (await bubble.boundingBox())?.height ?? 0;
      expect(collapsed).toBeGreaterThan(0);
      expect(collapsed).toBeLessThan(200);
      await bubble.click();
      expect(await bubble.getAttribute('class')).not.toContain('collapsed');
      expect((await bubble.boundingBox())?.height ?? 0).toBeGreaterThan(4 * collapsed);
    });
  });

  test('switches to the WhatsApp look: its ticks instead of "Seen", its colours', async () => {
    await withChatPage(async (page) => {
      await page.locator('#channel').selectOption('whatsapp');
      expect(await page.locator('#phone').getAttribute('data-channel')).toBe('whatsapp');
      await page.locator('#text').fill('hi');
      await page.locator('#text').press('Enter');
      await page.locator('#thread .seen', { hasText: '✓✓' }).waitFor({ timeout: 15_000 });
      await page.locator('#thread .row.bot:not(#typing) .bubble').first().waitFor({ timeout: 15_000 });
      await page.screenshot({ path: join(artifacts, 'browser-chat-whatsapp.png') });
    });
  });
});
