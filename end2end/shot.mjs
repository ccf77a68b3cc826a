import { chromium } from '@playwright/test';
const base = 'http://127.0.0.1:3300';
const [,, email, password, ...paths] = process.argv;
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
await page.goto(base + '/login');
await page.fill('input[name=email]', email);
await page.fill('input[name=password]', password);
await page.click('button[type=submit]');
await page.waitForURL(u => !u.pathname.startsWith('/login'));
for (const p of paths) {
  const [path, name] = p.split('|');
  await page.goto(base + path);
  await page.waitForLoadState('networkidle');
  await page.screenshot({ path: `/tmp/${name}.png`, fullPage: true });
  console.log('shot', path);
}
await browser.close();
