import { expect, Page, test } from '@playwright/test';
import { DEMO, hydrated, login } from './helpers';

/** The ad on the review screen, once it has loaded. */
async function adOnScreen(page: Page): Promise<string> {
  await expect(page.getByTestId('ad-id')).toBeVisible();
  return (await page.getByTestId('ad-id').textContent())!.trim();
}

/** Presses Enter and waits for the next item (a different ad) or the end of the queue. */
async function submitAndNext(page: Page, current: string): Promise<string | null> {
  await page.keyboard.press('Enter');
  await expect
    .poll(async () => {
      if (page.url().includes('empty=')) return 'empty';
      const id = await page.getByTestId('ad-id').textContent().catch(() => null);
      return id && id.trim() !== current ? 'next' : 'same';
    })
    .not.toBe('same');
  return page.url().includes('empty=') ? null : adOnScreen(page);
}

async function startQueue(page: Page, source: string): Promise<string> {
  await page.goto('/queues');
  await hydrated(page);
  const start = page.getByTestId(`start-${source}`);
  await expect(start).toBeEnabled();
  await start.focus();
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/queues\/item\/\d+/);
  return adOnScreen(page);
}

test('a reviewer works a queue by keyboard; the ops head sees the override, the escalation and the timeline', async ({ page }) => {
  await login(page, DEMO.reviewer.email, DEMO.reviewer.password);

  // Restricted items: the machine sent them to a human, so no verdict overrides it.
  let ad = await startQueue(page, 'restricted');
  await expect(page.getByTestId('machine-action')).toContainText('Sent to review');
  await page.keyboard.press('?');
  await expect(page.getByTestId('key-help')).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('key-help')).toBeHidden();

  // Enter without a verdict explains what is missing.
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('review-message')).toContainText('Approve (A) or Reject (R)');

  const worked: string[] = [];
  for (let i = 0; i < 6; i++) {
    if (i % 2 === 0) {
      await page.keyboard.press('a');
      await expect(page.getByTestId('verdict-approve')).toHaveAttribute('aria-pressed', 'true');
    } else {
      await page.keyboard.press('r');
      // Untick everything the machine flagged, then tick alcohol (4) and scam (7).
      const flagged = await page.locator('.cat.on kbd').allTextContents();
      for (const key of flagged) await page.keyboard.press(key.trim());
      await expect(page.locator('.cat.on')).toHaveCount(0);
      await page.keyboard.press('4');
      await page.keyboard.press('7');
      await expect(page.getByTestId('cat-alcohol')).toHaveClass(/on/);
      await expect(page.getByTestId('cat-scam')).toHaveClass(/on/);
    }
    worked.push(ad);
    ad = (await submitAndNext(page, ad))!;
    expect(ad).not.toBeNull();
  }

  // Undo the last submission: its item comes back, held by this reviewer.
  await expect(page.getByTestId('last-review')).toBeVisible();
  await page.keyboard.press('u');
  await expect(page.getByTestId('ad-id')).toHaveText(worked[worked.length - 1]);
  ad = worked.pop()!;
  await page.keyboard.press('a');
  worked.push(ad);
  ad = (await submitAndNext(page, ad))!;

  // Escalate one with a note.
  await page.keyboard.press('e');
  await expect(page.getByTestId('escalation-note')).toBeFocused();
  const note = `Licensed brewery? Cannot verify the licence from here (${Date.now()}).`;
  await page.keyboard.type(note);
  const escalatedAd = ad;
  ad = (await submitAndNext(page, ad))!;

  // Audit samples: overruling the machine's approval asks for a reason, chosen by keyboard.
  ad = await startQueue(page, 'audit');
  let overriddenAd = '';
  // The most urgent audit samples are often rejections: work on until one approval is overruled.
  for (let i = 0; i < 15 && (i < 3 || !overriddenAd); i++) {
    const machine = await page.getByTestId('machine-action').textContent();
    if (!overriddenAd && machine!.includes('Auto-approved')) {
      await page.keyboard.press('r');
      await page.keyboard.press('7');
      await page.keyboard.press('Enter');
      await expect(page.getByTestId('review-message')).toContainText('pick a reason');
      await expect(page.getByTestId('reason')).toBeFocused();
      await page.keyboard.press('ArrowDown');
      overriddenAd = ad;
    } else {
      await page.keyboard.press(machine!.includes('Auto-rejected') ? 'r' : 'a');
    }
    worked.push(ad);
    const next = await submitAndNext(page, ad);
    if (!next) break;
    ad = next;
  }
  expect(worked.length).toBeGreaterThanOrEqual(9);
  expect(overriddenAd).not.toBe('');

  // The ops head sees the escalation waiting, and the override in the ad's timeline.
  await page.getByRole('button', { name: 'Log out' }).click();
  await login(page, DEMO.ops_head.email, DEMO.ops_head.password);
  await page.goto('/queues');
  await hydrated(page);
  await expect(page.getByTestId('queue-escalation').getByTestId('queue-open')).not.toHaveText('0');
  await page.goto('/queues/list/escalation');
  await hydrated(page);
  const mine = page.getByTestId('queue-table').locator('tr', { hasText: `ad ${escalatedAd} ` });
  await expect(mine).toHaveCount(1);
  await mine.getByRole('button', { name: 'Review' }).click();
  await page.waitForURL(/\/queues\/item\/\d+/);
  await expect(page.getByTestId('ad-id')).toHaveText(escalatedAd);
  await expect(page.getByTestId('task-note')).toContainText(note);

  await page.goto(`/ads/${overriddenAd}`);
  const timeline = page.getByTestId('timeline');
  await expect(timeline).toContainText('Machine decision');
  await expect(timeline).toContainText('Reviewed, overriding the machine');
  await expect(timeline).toContainText(DEMO.reviewer.email);

  await page.goto(`/ads/${escalatedAd}`);
  await expect(page.getByTestId('timeline')).toContainText('Escalated');
  await expect(page.getByTestId('timeline')).toContainText(note);
});

test('hostile ad text is shown as text: no script runs and no link is live', async ({ page, request }) => {
  // An ingest key made at the command line, as an admin would.
  const { execFileSync } = await import('node:child_process');
  const path = await import('node:path');
  const root = path.resolve(__dirname, '..', '..');
  const out = execFileSync(path.join(root, 'target/debug/amso'), ['apikey', 'create', '--name', `xss-${Date.now()}`, '--scope', 'ingest'], {
    cwd: root,
    env: process.env,
  }).toString();
  const secret = /secret \(shown once\): (\S+)/.exec(out)![1];
  const res = await request.post('/api/v1/ads', {
    headers: { Authorization: `Bearer ${secret}` },
    data: {
      external_id: `xss-${Date.now()}`,
      market: 'GB',
      language: 'en',
      headline: '<script>window.__pwned = 1</script> Online casino: 200% bonus, licensed bookmaker',
      body: '<img src=x onerror="window.__pwned = 2"> Bet responsibly. <a href="javascript:window.__pwned=3">claim</a>',
      landing_url: 'javascript:alert(1)',
      daily_budget_usd: 50,
    },
  });
  // The URL is refused as unsafe; the same text with a real URL goes through.
  expect(res.status()).toBe(422);
  expect((await res.json()).error).toContain('landing_url');

  const ok = await request.post('/api/v1/ads', {
    headers: { Authorization: `Bearer ${secret}` },
    data: {
      external_id: `xss-ok-${Date.now()}`,
      market: 'GB',
      language: 'en',
      headline: '<script>window.__pwned = 1</script> Online casino: 200% bonus, licensed bookmaker',
      body: '<img src=x onerror="window.__pwned = 2"> Bet responsibly. <a href="javascript:window.__pwned=3">claim</a>',
      landing_url: 'https://bookmaker.example/<script>',
      daily_budget_usd: 50,
    },
  });
  expect(ok.status()).toBe(202);
  const id = (await ok.json()).id as number;
  await expect
    .poll(async () => (await (await request.get(`/api/v1/ads/${id}`, { headers: { Authorization: `Bearer ${secret}` } })).json()).status, {
      timeout: 15_000,
    })
    .not.toBe('queued');

  await login(page, DEMO.ops_head.email, DEMO.ops_head.password);
  await page.goto(`/ads/${id}`);
  await hydrated(page);
  const text = page.getByTestId('ad-text');
  await expect(text).toContainText('<script>window.__pwned = 1</script>');
  await expect(text).toContainText('<img src=x onerror=');
  expect(await text.locator('script, img, a').count()).toBe(0);
  expect(await page.evaluate(() => (window as any).__pwned)).toBeUndefined();
  // The landing URL is text, not a link.
  expect(await page.locator('a[href^="javascript:"]').count()).toBe(0);
  expect(await page.locator('a[href*="bookmaker.example"]').count()).toBe(0);
});
