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

test('an executive reads the registry but cannot change which model runs', async ({ page }) => {
  await login(page, DEMO.executive.email, DEMO.executive.password);
  await page.goto('/models');
  await hydrated(page);
  await expect(page.getByTestId('model-versions')).toBeVisible();
  await expect(page.getByTestId('model-promote-card')).toHaveCount(0);
  await expect(page.getByTestId('model-shadow')).toHaveCount(0);
  await expect(page.getByTestId('model-promote')).toHaveCount(0);
});
