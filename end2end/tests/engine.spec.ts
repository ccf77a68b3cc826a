import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { expect, test } from '@playwright/test';
import { DEMO, hydrated, login } from './helpers';

test('an ad posted through the API appears decided on the Ads page, with its reasons', async ({ page, request }) => {
  // An ingest key, created the way an admin would at the command line.
  const root = path.resolve(__dirname, '..', '..');
  const out = execFileSync(path.join(root, 'target/debug/amso'), ['apikey', 'create', '--name', `e2e-${Date.now()}`, '--scope', 'ingest'], {
    cwd: root,
    env: process.env,
  }).toString();
  const secret = /secret \(shown once\): (\S+)/.exec(out)![1];
  const externalId = `e2e-${Date.now()}`;
  const res = await request.post('/api/v1/ads', {
    headers: { Authorization: `Bearer ${secret}` },
    data: {
      external_id: externalId,
      market: 'AE',
      headline: 'Online casino: 200% welcome bonus and free spins',
      body: 'Bet on tonight\'s match, instant payouts',
      landing_url: 'https://spin-palace.example/join',
      daily_budget_usd: 120,
    },
  });
  expect(res.status()).toBe(202);
  const id = (await res.json()).id as number;

  // The worker decides it within moments.
  await expect
    .poll(async () => (await (await request.get(`/api/v1/ads/${id}`, { headers: { Authorization: `Bearer ${secret}` } })).json()).status, {
      timeout: 15_000,
    })
    .toBe('auto_rejected');

  await login(page, DEMO.ops_head.email, DEMO.ops_head.password);
  await page.goto('/ads?market=AE&category=gambling');
  const row = page.getByTestId('ads-table').locator('tr', { hasText: 'Online casino: 200% welcome bonus' }).first();
  await expect(row).toContainText('Auto-rejected');
  await row.getByRole('link').click();
  await expect(page).toHaveURL(new RegExp(`/ads/${id}$`));
  await expect(page.getByTestId('ad-status')).toHaveText('Auto-rejected');
  await expect(page.getByText('Reasons: gambling')).toBeVisible();
  await expect(page.getByTestId('scores')).toContainText('gambling');
  await expect(page.getByTestId('contributions')).toContainText('casino');
  // The landing page is shown as text, never as a link.
  await expect(page.getByText('https://spin-palace.example/join')).toBeVisible();
  await expect(page.locator('a[href^="https://spin-palace"]')).toHaveCount(0);
});

test('an ops head edits a threshold and finds the change versioned and audited', async ({ page }) => {
  await login(page, DEMO.ops_head.email, DEMO.ops_head.password);
  await page.goto('/thresholds');
  await hydrated(page);
  const before = await page.getByRole('heading', { name: /In force: thresholds version/ }).textContent();
  const version = Number(/version (\d+)/.exec(before ?? '')![1]);
  await page.getByTestId('cell-DE-scam').click();
  const editor = page.getByTestId('cell-editor');
  await editor.getByLabel('Approve below').fill('0.15');
  await editor.getByLabel('Reject at').fill('0.75');
  await page.getByTestId('save-cell').click();
  await expect(page.getByTestId('threshold-saved')).toContainText(`version ${version + 1}`);
  await expect(page.getByTestId('cell-DE-scam')).toHaveText('P 0.15–0.75');

  // Nonsense is refused with a clear message.
  await page.getByTestId('cell-DE-scam').click();
  await page.getByTestId('cell-editor').getByLabel('Approve below').fill('0.9');
  await page.getByTestId('save-cell').click();
  await expect(page.getByRole('alert')).toContainText('approve below');

  await page.goto('/admin/audit');
  await hydrated(page);
  await page.getByLabel('Action starts with').selectOption('thresholds.');
  const audit = page.getByTestId('audit-table');
  await expect(audit).toContainText('thresholds.update');
  await expect(audit).toContainText('thresholds:DE:scam');
  await expect(audit).toContainText('ops@amso.test');
});

test('reviewers cannot open the engine pages', async ({ page }) => {
  await login(page, DEMO.reviewer.email, DEMO.reviewer.password);
  for (const path of ['/ads', '/thresholds']) {
    const res = await page.goto(path);
    expect(res?.status()).toBe(403);
    await expect(page.getByTestId('forbidden')).toBeVisible();
  }
  const rpc = await page.request.post('/rpc/update_cell', {
    form: { market: 'US', category: 'scam', approve_below: '0.1', reject_at: '0.2', rule: 'allowed' },
  });
  expect(rpc.status()).toBe(403);
});
