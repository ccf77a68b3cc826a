import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect, test } from '@playwright/test';
import { DEMO, hydrated, login } from './helpers';

const root = path.resolve(__dirname, '..', '..');

/** Runs the `amso` CLI against the server's database, as an admin would. */
function amso(args: string[], input?: string): string {
  return execFileSync(path.join(root, 'target/debug/amso'), args, { cwd: root, env: process.env, input }).toString();
}

test('a Tokyo reviewer takes the zone the browser proposes, their day starts at Tokyo midnight, and they are handed Japanese', async ({ browser }) => {
  const email = `aya-${Date.now()}@example.com`;
  const password = 'aya-long-password-1';
  amso(['user', 'add', '--email', email, '--role', 'reviewer', '--markets', 'JP', '--languages', 'ja', '--name', 'Aya Mori', '--password-stdin'], `${password}\n`);
  const context = await browser.newContext({ timezoneId: 'Asia/Tokyo' });
  const page = await context.newPage();
  await login(page, email, password);
  await page.goto('/queues');
  await hydrated(page);
  // Nobody chose a zone for her yet: the browser's is proposed.
  await expect(page.getByTestId('time-zone-name')).toHaveText('UTC');
  await expect(page.getByTestId('zone-proposal')).toContainText('Your browser is on Asia/Tokyo');
  await page.getByTestId('zone-accept').click();
  await expect(page.getByTestId('time-zone-name')).toHaveText('Asia/Tokyo');
  await hydrated(page);
  await expect(page.getByTestId('zone-proposal')).toHaveCount(0);
  await expect(page.getByTestId('my-day-zone')).toHaveText('(Asia/Tokyo)');
  // Her day began at Tokyo midnight: 15:00 UTC.
  await expect(page.getByTestId('my-day').locator('h2')).toHaveAttribute(
    'title',
    /^Since \d{4}-\d\d-\d\d 00:00 Asia\/Tokyo \(\d{4}-\d\d-\d\d 15:00 UTC\)$/,
  );
  await expect(page.getByTestId('languages')).toContainText('You are handed items in ja');
  await expect(page.getByTestId('lang-JP-ja')).toBeVisible();
  // A reload keeps the choice (no proposal again).
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('time-zone-name')).toHaveText('Asia/Tokyo');
  await expect(page.getByTestId('zone-proposal')).toHaveCount(0);

  // Claim-next hands her an item in Japanese, from whichever queue has one.
  await page.locator('button[data-testid^="start-"]:not([disabled])').first().click();
  await expect(page).toHaveURL(/\/queues\/item\/\d+$/);
  await expect(page.locator('.review-header')).toContainText('JP · ja');
  await context.close();
});

/** The next midnight in Tokyo (UTC+9, no DST) after `now`, in epoch milliseconds. */
function nextTokyoMidnight(now: number): number {
  const day = 86_400_000;
  const nine = 9 * 3_600_000;
  return Math.floor((now + nine) / day) * day + day - nine;
}

test("a Tokyo reviewer's day resets at Tokyo midnight (a server on a rehearsal clock crosses it)", async ({ browser }) => {
  test.setTimeout(240_000);
  // A second server on its own small database, its clock started 100 s before the next
  // Tokyo midnight (AMSO_CLOCK_START): the demo history is written on that clock, so the
  // reviewer's work happens in the last minutes of a Tokyo day.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'amso-clock-'));
  const midnight = nextTokyoMidnight(Date.now());
  const port = 3931;
  const env = {
    ...process.env,
    DATABASE_URL: `sqlite://${dir}/clock.db`,
    AMSO_DEMO_ADS: '2000',
    AMSO_CLOCK_START: new Date(midnight - 100_000).toISOString(),
    AMSO_WORKERS: '0',
    LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
    LEPTOS_SITE_ROOT: path.join(root, 'target/site'),
    LEPTOS_OUTPUT_NAME: 'amso',
  };
  const base = `http://127.0.0.1:${port}`;
  let server: ChildProcess | undefined;
  try {
    server = spawn(path.join(root, 'target/debug/amso'), ['serve', '--demo'], { cwd: root, env, stdio: 'ignore' });
    await expect
      .poll(async () => (await fetch(`${base}/healthz`).catch(() => null))?.status ?? 0, { timeout: 120_000, intervals: [250] })
      .toBe(200);
    const email = `ken-${Date.now()}@example.com`;
    const password = 'ken-long-password-1';
    execFileSync(
      path.join(root, 'target/debug/amso'),
      ['user', 'add', '--email', email, '--role', 'reviewer', '--markets', 'US,GB,DE,FR,BR,AE,ID,SG,KR,JP', '--time-zone', 'Asia/Tokyo', '--name', 'Ken Ito', '--password-stdin'],
      { cwd: root, env, input: `${password}\n` },
    );
    const context = await browser.newContext({ baseURL: base, timezoneId: 'Asia/Tokyo' });
    const page = await context.newPage();
    await login(page, email, password);
    await page.goto('/queues');
    await hydrated(page);
    const heading = page.getByTestId('my-day').locator('h2');
    const title = (await heading.getAttribute('title'))!;
    const before = title.match(/^Since (\d{4}-\d\d-\d\d) 00:00 Asia\/Tokyo/)![1];
    await expect(page.getByTestId('my-day-reviews')).toHaveText('0');

    // One review before midnight: the day counts it.
    const start = page.locator('[data-testid="start-restricted"]:not([disabled]), [data-testid="start-uncertain"]:not([disabled])').first();
    await start.click();
    await expect(page).toHaveURL(/\/queues\/item\/\d+$/);
    await expect(page.getByTestId('ad-id')).toBeVisible();
    await page.keyboard.press('a');
    await expect(page.getByTestId('verdict-approve')).toHaveAttribute('aria-pressed', 'true');
    const item = page.url();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.url()).not.toBe(item);
    await page.goto('/queues');
    await hydrated(page);
    await expect(page.getByTestId('my-day-reviews')).toHaveText('1');
    await expect(heading).toHaveAttribute('title', new RegExp(`^Since ${before} 00:00 Asia/Tokyo`));

    // Past Tokyo midnight on the server's clock, the day starts again at zero.
    await expect
      .poll(
        async () => {
          await page.goto('/queues');
          return (await heading.getAttribute('title'))?.match(/^Since (\d{4}-\d\d-\d\d)/)?.[1];
        },
        { timeout: 150_000, intervals: [2_000] },
      )
      .not.toBe(before);
    await hydrated(page);
    await expect(page.getByTestId('my-day-reviews')).toHaveText('0');
    await expect(heading).toHaveAttribute('title', /00:00 Asia\/Tokyo \(\d{4}-\d\d-\d\d 15:00 UTC\)$/);
    await context.close();
  } finally {
    server?.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an ops head sees which languages nobody on a market\'s team reads, and who can take the rest', async ({ page }) => {
  // Everyone in JP who reads English (or any language) reads only Japanese for a while, so
  // JP's English items have nobody.
  type Listed = { email: string; role: string; markets: string[]; languages: string[]; disabled: boolean };
  const team = (JSON.parse(amso(['user', 'list', '--json'])) as Listed[]).filter(
    (u) => u.role === 'reviewer' && !u.disabled && u.markets.includes('JP') && (u.languages.length === 0 || u.languages.includes('en')),
  );
  expect(team.map((u) => u.email)).toContain('yui.tanaka@reviewers.amso.test');
  for (const u of team) amso(['user', 'set', '--email', u.email, '--languages', 'ja']);
  try {
    await login(page, DEMO.ops_head.email, DEMO.ops_head.password);
    await page.goto('/queues');
    await hydrated(page);
    const english = page.getByTestId('lang-JP-en');
    await expect(english).toBeVisible();
    await expect(english.getByTestId('readers')).toHaveText('Nobody reads it');
    await expect(page.getByTestId('unread-alert')).toContainText('no reviewer of their market reads');
    await expect(page.getByTestId('lang-JP-ja').getByTestId('readers')).toContainText('佐藤 陽翔');
    await page.screenshot({ path: 'test-results/queues-languages.png', fullPage: true });
  } finally {
    for (const u of team) amso(['user', 'set', '--email', u.email, '--languages', u.languages.join(',')]);
  }
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('lang-JP-en').getByTestId('readers')).toContainText('田中 結衣');
});

test('an ops head reads each reviewer\'s exposure and changes a daily limit, audited', async ({ page }) => {
  await login(page, DEMO.ops_head.email, DEMO.ops_head.password);
  await page.goto('/queues');
  await hydrated(page);
  const exposure = page.getByTestId('exposure');
  await expect(exposure.getByTestId('caps')).toContainText('adult 150');
  await expect(exposure.getByTestId('exposure-row').first()).toBeVisible();
  await expect(exposure.locator('th', { hasText: 'adult today / 150' })).toBeVisible();
  await exposure.getByTestId('cap-input').fill('120');
  await exposure.getByTestId('cap-save').click();
  await expect(exposure.getByTestId('caps')).toContainText('adult 120');
  // A limit below zero is refused by the server, naming the field.
  const refused = await page.request.post('/rpc/set_exposure_cap', {
    form: { category: 'adult', daily_cap: '-5' },
    headers: { Accept: 'application/json' },
  });
  expect(refused.status()).toBe(422);
  expect((await refused.json()).error).toContain('daily_cap');
  await exposure.getByTestId('cap-input').fill('150');
  await exposure.getByTestId('cap-save').click();
  await expect(exposure.getByTestId('caps')).toContainText('adult 150');
  await page.goto('/admin/audit');
  await expect(page.getByText('settings.exposure_cap').first()).toBeVisible();
});

test('a golden item reaches a reviewer looking like any other; an ops head marks one on its ad page and reads accuracy on them', async ({ browser }) => {
  type Golden = { ad_id: number; market: string; queue: string; answered: number };
  const golden = () => JSON.parse(amso(['golden', 'list', '--json'])) as Golden[];
  const answered = () => golden().reduce((n, g) => n + g.answered, 0);
  const before = golden();
  const target = before.find((g) => g.queue === 'uncertain')!;
  expect(target).toBeTruthy();
  const answeredBefore = answered();

  // The ops head: a golden ad's page names its answer; another decided ad is marked and unmarked.
  const ops = await browser.newPage();
  await login(ops, DEMO.ops_head.email, DEMO.ops_head.password);
  await ops.goto(`/ads/${target.ad_id}`);
  await hydrated(ops);
  await expect(ops.getByTestId('golden-answer')).toContainText('Golden: the right answer is');
  const plain = [1, 2, 3, 4, 5, 6, 7, 8].map((d) => target.ad_id + d).find((id) => !before.some((g) => g.ad_id === id))!;
  await ops.goto(`/ads/${plain}`);
  await hydrated(ops);
  await expect(ops.getByTestId('golden-box')).toContainText('Not golden');
  await ops.getByTestId('golden-verdict').selectOption('reject');
  await ops.getByTestId('golden-cat-scam').check();
  await ops.getByTestId('golden-save').click();
  await expect(ops.getByTestId('golden-answer')).toHaveText('Golden: the right answer is reject (scam)');
  await ops.getByRole('button', { name: 'Remove from the golden set' }).click();
  await expect(ops.getByTestId('golden-box')).toContainText('Not golden');

  // Every item golden for a moment: a new reviewer in that market is handed one.
  const setRate = async (percent: string) => {
    await ops.goto('/queues');
    await hydrated(ops);
    await ops.getByTestId('golden-rate-input').fill(percent);
    await ops.getByTestId('golden-rate-form').getByRole('button', { name: 'Save' }).click();
    await expect(ops.getByTestId('golden-rate')).toContainText(`${Number(percent).toFixed(1)}% of each reviewer's items are golden`);
  };
  await setRate('100');
  const stamp = Date.now();
  const email = `gold-${stamp}@example.com`;
  const name = `Gale ${stamp}`;
  const password = 'gold-long-password-1';
  amso(['user', 'add', '--email', email, '--role', 'reviewer', '--markets', target.market, '--name', name, '--password-stdin'], `${password}\n`);
  const page = await browser.newPage();
  try {
    await login(page, email, password);
    await page.goto('/queues');
    await hydrated(page);
    await page.getByTestId('start-uncertain').click();
    await expect(page).toHaveURL(/\/queues\/item\/\d+$/);
    await expect(page.getByTestId('ad-id')).toBeVisible();
    // Nothing on the screen tells it apart: the machine's call, the verdict keys, no answer.
    await expect(page.getByTestId('machine-action')).toBeVisible();
    await expect(page.getByTestId('verdict-approve')).toBeVisible();
    expect((await page.locator('main').innerText()).toLowerCase()).not.toContain('golden');
    await page.screenshot({ path: 'test-results/golden-item.png', fullPage: true });
    await page.keyboard.press('a');
    await page.keyboard.press('Enter');
    await expect.poll(answered).toBe(answeredBefore + 1);
  } finally {
    await setRate('2');
  }

  // The ops head reads accuracy on golden items beside QA agreement; the reviewer their own.
  await expect(ops.getByTestId('golden-accuracy').getByTestId('golden-row').first()).toBeVisible();
  await expect(ops.getByTestId('golden-accuracy').getByTestId('golden-row').filter({ hasText: name })).toContainText(/[01] of 1/);
  await expect(ops.getByTestId('golden-accuracy').getByTestId('golden-overall').first()).toHaveText(/(\d+% \(\d+–\d+%\)|\d+ of \d+)/);
  await ops.getByTestId('golden-accuracy').scrollIntoViewIfNeeded();
  await ops.screenshot({ path: 'test-results/golden-accuracy.png', fullPage: true });
  await page.goto('/queues');
  await hydrated(page);
  await expect(page.getByTestId('golden-accuracy').getByTestId('golden-row')).toHaveCount(1);
  await expect(page.getByTestId('golden-accuracy')).toContainText('Your accuracy on golden items');
});

/** The platform fonts Chromium drew a node's text with, and how many glyphs each drew. */
async function fontsOf(page: import('@playwright/test').Page, selector: string): Promise<{ familyName: string; glyphCount: number }[]> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('DOM.enable');
  await cdp.send('CSS.enable');
  const { root } = await cdp.send('DOM.getDocument', { depth: -1 });
  const { nodeId } = await cdp.send('DOM.querySelector', { nodeId: root.nodeId, selector });
  const { fonts } = await cdp.send('CSS.getPlatformFontsForNode', { nodeId });
  await cdp.detach();
  return fonts;
}

for (const [market, lang, name, face, letters] of [
  ['JP', 'ja', 'a Japanese', /Noto Sans CJK/, /[\u3040-\u30ff\u4e00-\u9fff]/],
  ['AE', 'ar', 'an Arabic', /Noto (Sans|Naskh|Kufi) Arabic/, /[\u0600-\u06ff]/],
] as const) {
  test(`${name} ad on the review screen is drawn in a face with its glyphs${lang === 'ar' ? ', right to left' : ''}`, async ({ page }) => {
    const email = `script-${lang}-${Date.now()}@example.com`;
    const password = 'script-long-password-1';
    amso(['user', 'add', '--email', email, '--role', 'reviewer', '--markets', market, '--languages', lang, '--name', `Script ${lang}`, '--password-stdin'], `${password}\n`);
    await login(page, email, password);
    await page.goto('/queues');
    await hydrated(page);
    await page.locator('button[data-testid^="start-"]:not([disabled])').first().click();
    await expect(page).toHaveURL(/\/queues\/item\/\d+$/);
    await expect(page.locator('.review-header')).toContainText(`${market} · ${lang}`);
    const headline = page.locator('.ad-headline');
    await expect(headline).toContainText(letters);
    // Chromium says which installed faces drew the headline: the script's own face drew
    // glyphs (no empty boxes from a face without them).
    const fonts = await fontsOf(page, '.ad-headline');
    const drawn = fonts.filter((f) => face.test(f.familyName)).reduce((n, f) => n + f.glyphCount, 0);
    expect(drawn, JSON.stringify(fonts)).toBeGreaterThan(0);
    expect((await headline.boundingBox())!.width).toBeGreaterThan(20);
    if (lang === 'ar') {
      await expect(page.getByTestId('ad-text')).toHaveAttribute('dir', 'rtl');
      // Two letters in a row of one word: the first in reading order sits to the right.
      const order = await headline.evaluate((el, re) => {
        const letter = new RegExp(re);
        const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
        for (let n = walker.nextNode(); n; n = walker.nextNode()) {
          const t = (n as Text).data;
          for (let i = 0; i + 1 < t.length; i++) {
            if (letter.test(t[i]) && letter.test(t[i + 1])) {
              const at = (k: number) => {
                const r = document.createRange();
                r.setStart(n!, k);
                r.setEnd(n!, k + 1);
                return r.getBoundingClientRect().left;
              };
              return { first: at(i), second: at(i + 1) };
            }
          }
        }
        return null;
      }, letters.source);
      expect(order).not.toBeNull();
      expect(order!.first).toBeGreaterThan(order!.second);
    }
    await page.screenshot({ path: `test-results/review-${lang}.png` });
  });
}

test('an ops head in Tokyo reads the dashboards in Tokyo days', async ({ page }) => {
  amso(['user', 'set', '--email', DEMO.ops_head.email, '--time-zone', 'Asia/Tokyo']);
  try {
    await login(page, DEMO.ops_head.email, DEMO.ops_head.password);
    await page.goto('/dashboards?window=7d');
    await hydrated(page);
    await expect(page.getByTestId('window')).toContainText('(Asia/Tokyo)');
    await expect(page.getByTestId('chart-automation').locator('thead')).toContainText('Day (Asia/Tokyo)');
    // The API answers in the same days for the logged-in user.
    const api = await page.request.get('/api/v1/kpis');
    expect((await api.json()).window.time_zone).toBe('Asia/Tokyo');
  } finally {
    amso(['user', 'set', '--email', DEMO.ops_head.email, '--time-zone', 'UTC']);
  }
});
