import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect, test } from '@playwright/test';
import { DEMO, hydrated, login } from './helpers';

const root = path.resolve(__dirname, '..', '..');
const amso = (args: string[]) =>
  execFileSync(path.join(root, 'target/debug/amso'), args, { cwd: root, env: process.env }).toString();

// The registry as an ops head sees it: the running model is champion everywhere, who was
// champion at an instant, a trained candidate put in shadow, a promotion refused while there
// is too little comparison, and the comparison itself.
test('an ops head reads the registry, puts a candidate in shadow, and is told a promotion needs more comparison', async ({ page }) => {
  test.setTimeout(300_000);
  await login(page, DEMO.ops_head.email, DEMO.ops_head.password);
  await page.goto('/models');
  await hydrated(page);
  const champion = page.getByTestId('model-row').filter({ hasText: 'champion' }).first();
  await expect(champion.getByTestId('model-champion-of')).toHaveText('every market');

  // Who was champion a minute ago: the same version, in every market.
  const version = (await champion.getByTestId('model-version').innerText()).trim();
  await page.getByTestId('model-at').fill(new Date(Date.now() - 60_000).toISOString());
  await page.getByTestId('model-at-go').click();
  await expect(page.getByTestId('champion-ID')).toContainText(version);

  // A small candidate trained at the command line and imported.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'amso-e2e-model-'));
  const rows = Array.from({ length: 80 }, (_, i) => JSON.stringify({
    external_id: `e2e-train-${i}`,
    market: 'ID',
    headline: i % 2 ? `Investasi kripto profit harian ${i}` : `Sepatu lari diskon ${i}`,
    body: 'Daftar sekarang.',
    labels: i % 2 ? ['scam'] : [],
  }));
  fs.writeFileSync(path.join(dir, 'train.jsonl'), rows.join('\n') + '\n');
  amso(['train', '--data', path.join(dir, 'train.jsonl'), '--out', path.join(dir, 'model'), '--epochs', '2', '--buckets', '4096', '--dim', '4', '--seed', String(Date.now() % 100000)]);
  const candidate = amso(['model', 'import', path.join(dir, 'model')]).trim();
  await page.reload();
  await hydrated(page);
  const row = page.getByTestId('model-row').filter({ hasText: candidate });
  await expect(row.getByTestId('model-role')).toHaveText('candidate');
  await row.getByTestId('model-shadow').click();
  await expect(row.getByTestId('model-role')).toHaveText('challenger');

  // Promoting it in ID now is refused: it has not scored enough labelled traffic yet.
  await row.getByTestId('model-promote').click();
  await expect(page.getByTestId('promote-version')).toHaveValue(candidate);
  await page.getByTestId('promote-markets').fill('ID');
  await page.getByTestId('promote-preview').click();
  await expect(page.getByTestId('model-promote-card')).toContainText('not enough comparison in ID');
  await expect(page.getByTestId('promote-request')).toHaveCount(0);

  // The comparison says how much it rests on, and "too few labels" rather than a number.
  await page.getByTestId('compare-a').selectOption(version);
  await page.getByTestId('compare-b').selectOption(candidate);
  await page.getByTestId('compare-go').click();
  await expect(page.getByTestId('compare-labelled')).toContainText('labelled ads both scored');
  await expect(page.getByTestId('compare-cells')).toContainText('too few labels');
  fs.rmSync(dir, { recursive: true, force: true });

  // A candidate trained from the demo's human verdicts, its progress and log on the page.
  await page.getByTestId('train-days').fill('28');
  await page.getByTestId('train-start').click();
  await expect(page.getByTestId('train-state')).toHaveText('done', { timeout: 150_000 });
  await expect(page.getByTestId('train-log')).toContainText('human verdicts since');
  await expect(page.getByTestId('train-log')).toContainText('registered');
  const trained = (await page.getByTestId('train-version').innerText()).trim();
  await expect(page.getByTestId('model-row').filter({ hasText: trained }).getByTestId('model-role')).toHaveText('candidate');
  // Its card carries the TF-IDF baseline trained on the same rows, named in the log too.
  await expect(page.getByTestId('train-log')).toContainText(/the TF-IDF baseline on the same rows: ROC-AUC [01]\.\d{4}/);
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('model-row').filter({ hasText: trained }).getByTestId('model-baseline')).toHaveText(/^[01]\.\d{4}$/);
});

// The demo's lifecycle as an ops head meets it: an earlier champion at the start of the
// history, a challenger trained on the reviewers' verdicts whose comparison in ID says the
// humans side with it where the two split, a canary promotion in ID that needs a second
// person (an admin approves), and a one-click rollback that puts the champion back.
test('an ops head reads the demo challenger in ID, promotes it there after an admin approves, and rolls back', async ({ browser }) => {
  test.setTimeout(180_000);
  const ops = await browser.newPage();
  await login(ops, DEMO.ops_head.email, DEMO.ops_head.password);
  await ops.goto('/models');
  await hydrated(ops);
  const everywhere = ops.getByTestId('model-row').filter({ has: ops.getByTestId('model-champion-of').filter({ hasText: 'every market' }) });
  const champion = (await everywhere.getByTestId('model-version').innerText()).trim();
  const row = ops.getByTestId('model-row').filter({ hasText: 'sofia.reyes@ops.amso.test' });
  await expect(row.getByTestId('model-role')).toHaveText('challenger');
  const challenger = (await row.getByTestId('model-version').innerText()).trim();

  // Four weeks ago another version decided in ID.
  await ops.getByTestId('model-at').fill(new Date(Date.now() - 27 * 86_400_000).toISOString());
  await ops.getByTestId('model-at-go').click();
  await expect(ops.getByTestId('champion-ID')).not.toContainText(champion);
  await expect(ops.getByTestId('champion-ID')).toContainText('ft-');

  // The comparison in ID: where the two split, the humans side with the challenger.
  await ops.getByTestId('compare-a').selectOption(champion);
  await ops.getByTestId('compare-b').selectOption(challenger);
  await ops.getByTestId('compare-market').fill('ID');
  await ops.getByTestId('compare-go').click();
  const split = ops.getByTestId('compare-split');
  await expect(split).toHaveText(/^\d+\.\d% \(\d+\.\d–\d+\.\d%\) of \d+ ads$/);
  const [, value, low, high] = (await split.innerText()).match(/^(\d+\.\d)% \((\d+\.\d)–(\d+\.\d)%\)/)!;
  console.log(`humans side with the challenger in ID: ${value}% (${low}–${high}%)`);
  expect(Number(value)).toBeGreaterThan(50);
  await expect(ops.getByTestId('compare-disagreements')).toContainText('humans: reject: scam');

  // Ask for a canary in ID; the asker cannot approve their own request.
  await row.getByTestId('model-promote').click();
  await expect(ops.getByTestId('promote-version')).toHaveValue(challenger);
  await ops.getByTestId('promote-markets').fill('ID');
  await ops.getByTestId('promote-preview').click();
  await expect(ops.getByTestId('promote-evidence')).toContainText('ID');
  await ops.getByTestId('promote-request').click();
  await expect(ops.getByTestId('promote-requested')).toContainText('waits for a second person');
  await ops.reload();
  await hydrated(ops);
  const pending = ops.getByTestId('promotion-row').filter({ hasText: challenger }).filter({ hasText: 'pending' });
  await expect(pending).toContainText('waiting for a second person');
  await expect(pending.getByTestId('promotion-approve')).toHaveCount(0);

  // An admin approves: the challenger decides ID, the champion keeps the other nine markets.
  const admin = await browser.newPage();
  await login(admin, DEMO.admin.email, DEMO.admin.password);
  await admin.goto('/models');
  await hydrated(admin);
  const asked = admin.getByTestId('promotion-row').filter({ hasText: challenger }).filter({ hasText: 'pending' });
  await asked.getByTestId('promotion-approve').click();
  await expect(admin.getByTestId('promotion-row').filter({ hasText: challenger }).first().getByTestId('promotion-state')).toHaveText('done');
  await ops.reload();
  await hydrated(ops);
  await expect(row.getByTestId('model-champion-of')).toHaveText('ID');
  const old = ops.getByTestId('model-row').filter({ hasText: champion });
  await expect(old.getByTestId('model-champion-of')).not.toContainText('ID');
  await expect(old.getByTestId('model-champion-of')).toContainText('SG');

  // One click puts the champion and its thresholds back in ID.
  await ops.getByTestId('model-rollback').click();
  await expect(ops.getByTestId('model-rolled-back')).toContainText(challenger);
  await ops.reload();
  await hydrated(ops);
  await expect(old.getByTestId('model-champion-of')).toHaveText('every market');
  await expect(row.getByTestId('model-champion-of')).toHaveText('');
  await admin.close();
  await ops.close();
});

test('an executive reads the registry but cannot change which model runs', async ({ page }) => {
  await login(page, DEMO.executive.email, DEMO.executive.password);
  await page.goto('/models');
  await hydrated(page);
  await expect(page.getByTestId('model-versions')).toBeVisible();
  await expect(page.getByTestId('model-promote-card')).toHaveCount(0);
  await expect(page.getByTestId('model-shadow')).toHaveCount(0);
  await expect(page.getByTestId('model-promote')).toHaveCount(0);
});
