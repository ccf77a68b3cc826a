import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect, Page, test } from '@playwright/test';
import { DEMO, hydrated, login } from './helpers';

const shots = path.join(__dirname, '..', 'test-results', 'screens');

async function keep(page: Page, name: string): Promise<void> {
  fs.mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}

test('an executive picks a week and downloads the report as PDF, XLSX and CSV', async ({ page }) => {
  await login(page, DEMO.executive.email, DEMO.executive.password);
  await page.goto('/reports');
  await hydrated(page);
  await expect(page.getByTestId('report-summary')).toBeVisible();
  await expect(page.getByTestId('report-findings')).toContainText('ads decided');

  // Choose the week before the newest one: the URL and the summary follow.
  const week = page.getByTestId('report-week');
  const options = await week.locator('option').allTextContents();
  expect(options.length).toBeGreaterThan(4);
  await week.selectOption(options[1]);
  await expect(page).toHaveURL(new RegExp(`week=${options[1]}`));
  await expect(page.getByTestId('report-summary')).toContainText(`Week ${options[1]}`);
  await expect(page.getByTestId('report-row-All')).toBeVisible();
  await keep(page, 'reports-executive');

  const files: Record<string, Buffer> = {};
  for (const format of ['pdf', 'xlsx', 'csv']) {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId(`download-${format}`).click()]);
    expect(download.suggestedFilename()).toBe(`amso-weekly-${options[1]}.${format}`);
    files[format] = fs.readFileSync((await download.path())!);
  }
  expect(files.pdf.subarray(0, 5).toString()).toBe('%PDF-');
  expect(files.xlsx.subarray(0, 2).toString()).toBe('PK');
  const csv = files.csv.toString('utf8');
  expect(csv.startsWith('week,market,category,metric,value,low,high,n\r\n')).toBe(true);
  expect(csv).toContain(`${options[1]},ALL,ALL,decided,`);

  // Keeping it in the archive lists it with who made it.
  await page.getByTestId('archive-now').click();
  await expect(page.getByTestId('report-archive')).toContainText(DEMO.executive.email);
  await expect(page.getByTestId('report-archive')).toContainText(options[1]);
});

test('a reviewer gets 403 from the Reports page and the reports API', async ({ page, request }) => {
  await login(page, DEMO.reviewer.email, DEMO.reviewer.password);
  const pageRes = await page.goto('/reports');
  expect(pageRes?.status()).toBe(403);
  await expect(page.getByTestId('forbidden')).toBeVisible();
  await expect(page.getByTestId('report-summary')).toHaveCount(0);
  const api = await page.request.get('/api/v1/reports/weekly?format=csv');
  expect(api.status()).toBe(403);
  expect((await api.json()).kind).toBe('forbidden');
  const anonymous = await request.get('/api/v1/reports/weekly?format=csv');
  expect(anonymous.status()).toBe(401);
});
