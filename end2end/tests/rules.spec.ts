import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { expect, test } from '@playwright/test';
import { DEMO, hydrated, login } from './helpers';

// Finding a wave on the radar, proving a rule on history, trying it in background, a second
// person switching it on, a new ad rejected by it, and sweeping up what slipped through.
test('an ops head turns the investasi wave on the radar into a live rule, approved by a second person', async ({ page, request }) => {
  test.setTimeout(180_000);
  await login(page, DEMO.ops_head.email, DEMO.ops_head.password);

  // The planted wave leads Indonesia's radar over the last 7 days.
  await page.goto('/radar?window=7d&market=ID');
  await hydrated(page);
  const table = page.getByTestId('radar-table');
  await expect(table).toBeVisible();
  const top = table.locator('tbody tr').filter({ hasText: /investasi|crypto|kripto/ }).first();
  await expect(top).toBeVisible();
  const investasi = page.getByTestId('radar-term-investasi');
  await expect(investasi).toBeVisible();
  // Its detail: sample ads as text.
  await investasi.getByRole('button', { name: 'Open' }).click();
  await expect(page.getByTestId('radar-samples').first()).toContainText(/investasi/i);

  // Draft a rule from it: the term and the market come pre-filled.
  await investasi.getByTestId('draft-rule').click();
  await expect(page).toHaveURL(/\/rules\/new\?term=investasi/);
  await hydrated(page);
  await expect(page.getByTestId('rule-terms')).toHaveValue('investasi');
  await expect(page.getByTestId('rule-markets')).toHaveValue('ID');
  const name = `ID investasi wave ${Date.now()}`;
  await page.getByTestId('rule-name').fill(name);
  await page.getByTestId('rule-markets').fill('ID, SG');
  await page.getByTestId('rule-terms').fill('investasi\nprofit harian\ncrypto');
  await page.getByTestId('rule-reject-categories').fill('scam');
  await page.getByTestId('rule-save').click();
  await expect(page).toHaveURL(/\/rules\/\d+$/);
  const ruleUrl = page.url();
  await hydrated(page);
  await expect(page.getByTestId('rule-state')).toHaveText('Draft');

  // Backtest over 28 days: a progress bar, then hits and precision against reviewers.
  await page.getByTestId('backtest-run').click();
  await expect(page.getByTestId('backtest-result-hits')).toContainText(/\d+ of \d+ ads over 28 days/, { timeout: 120_000 });
  await expect(page.getByTestId('backtest-result-precision')).not.toBeEmpty();

  // Background, then ask to go live: the asker cannot approve.
  await page.getByTestId('step-background').click();
  await expect(page.getByTestId('rule-state')).toHaveText('Background (shadow)');
  await page.getByTestId('step-request_live').click();
  await expect(page.getByTestId('rule-state')).toHaveText('Waiting for approval');
  await expect(page.getByTestId('approval-note')).toContainText('another ops head or an admin approves');
  await expect(page.getByTestId('step-approve')).toHaveCount(0);

  // A second person approves it.
  await page.getByRole('button', { name: 'Log out' }).click();
  await login(page, DEMO.admin.email, DEMO.admin.password);
  await page.goto(ruleUrl);
  await hydrated(page);
  await page.getByTestId('step-approve').click();
  await expect(page.getByTestId('rule-state')).toHaveText('Live');
  // Every worker picks a change up within a second or so.
  await page.waitForTimeout(2500);

  // A new matching ad posted through the API is rejected by the rule, named on its page.
  const root = path.resolve(__dirname, '..', '..');
  const out = execFileSync(path.join(root, 'target/debug/amso'), ['apikey', 'create', '--name', `e2e-rules-${Date.now()}`, '--scope', 'ingest'], {
    cwd: root,
    env: process.env,
  }).toString();
  const secret = /secret \(shown once\): (\S+)/.exec(out)![1];
  const res = await request.post('/api/v1/ads', {
    headers: { Authorization: `Bearer ${secret}` },
    data: {
      external_id: `e2e-rule-${Date.now()}`,
      market: 'ID',
      headline: 'Kelas investasi untuk pemula',
      body: 'Belajar mengatur tabungan keluarga bersama perencana keuangan.',
      daily_budget_usd: 25,
    },
  });
  expect(res.status()).toBe(202);
  const id = (await res.json()).id as number;
  await expect
    .poll(async () => (await (await request.get(`/api/v1/ads/${id}`, { headers: { Authorization: `Bearer ${secret}` } })).json()).status, {
      timeout: 15_000,
    })
    .toBe('auto_rejected');
  await page.goto(`/ads/${id}`);
  await hydrated(page);
  await expect(page.getByTestId('rule-hits')).toContainText(name);
  await expect(page.getByTestId('rule-hits')).toContainText('rejected it for scam');

  // Sweep up: count the auto-approved matches of the last 28 days, then reopen them.
  await page.goto(ruleUrl);
  await hydrated(page);
  await page.locator('#retro-days').fill('28');
  await page.getByTestId('retro-count').click();
  await expect(page.getByTestId('retro-result')).toContainText('auto-approved ads of the last 28 days match');
  const reopen = page.getByTestId('retro-run');
  await expect(reopen).toBeVisible();
  await reopen.click();
  await expect(page.getByTestId('retro-result')).toContainText(/Reopened \d+ ads into the uncertain queue/);
  // Twice reopens nothing.
  await page.getByTestId('retro-count').click();
  await expect(page.getByTestId('retro-result')).toContainText(/^0 auto-approved ads/);
  // A reject rule may also ask to reject outright; that waits for a second person.
  await expect(page.getByTestId('retro')).toContainText('ask to reject it outright');

  // The dashboards list the rule with its hits a day and precision against human verdicts.
  await page.goto('/dashboards?window=7d');
  await hydrated(page);
  const row = page.getByTestId('rules-box-row').filter({ hasText: name });
  await expect(row).toBeVisible();
  await expect(row.getByTestId('rules-box-precision')).toContainText(/no labelled hits|too few samples|95%/);
});
