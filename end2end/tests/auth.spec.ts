import { expect, test } from '@playwright/test';
import { DEMO, hydrated, login } from './helpers';

const NAV: Record<keyof typeof DEMO, { home: string; visible: string[]; hidden: string[] }> = {
  reviewer: {
    home: '/queues',
    visible: ['Review queues'],
    hidden: ['Dashboards', 'Users', 'API keys', 'Thresholds & policy', 'Reports', 'Audit log'],
  },
  ops_head: {
    home: '/dashboards',
    visible: ['Review queues', 'Dashboards', 'Ads', 'Thresholds & policy', 'Reports', 'Audit log'],
    hidden: ['Users', 'API keys'],
  },
  executive: {
    home: '/reports',
    visible: ['Dashboards', 'Reports'],
    hidden: ['Review queues', 'Users', 'Thresholds & policy', 'Ads'],
  },
  admin: {
    home: '/admin/users',
    visible: ['Dashboards', 'Ads', 'Reports', 'Users', 'API keys', 'Audit log'],
    hidden: ['Review queues', 'Thresholds & policy'],
  },
};

for (const role of Object.keys(DEMO) as (keyof typeof DEMO)[]) {
  test(`${role} logs in and sees the navigation of the role`, async ({ page }) => {
    const account = DEMO[role];
    await login(page, account.email, account.password);
    await expect(page).toHaveURL(new RegExp(`${NAV[role].home}$`));
    await expect(page.getByTestId('viewer-name')).toHaveText(account.name);
    const nav = page.getByRole('navigation', { name: 'Main' });
    for (const label of NAV[role].visible) {
      await expect(nav.getByRole('link', { name: label, exact: true })).toBeVisible();
    }
    for (const label of NAV[role].hidden) {
      await expect(nav.getByRole('link', { name: label, exact: true })).toHaveCount(0);
    }
  });
}

test('a wrong password shows an error and does not log in', async ({ page }) => {
  await page.goto('/login');
  await hydrated(page);
  await page.getByLabel('Email').fill(DEMO.executive.email);
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByTestId('login-submit').click();
  await expect(page.getByTestId('login-error')).toHaveText(/wrong email or password/i);
  await expect(page).toHaveURL(/\/login/);
  await expect(page.getByTestId('viewer-name')).toHaveCount(0);
});

test('a logged-out visit is sent to the login page and back after login', async ({ page }) => {
  const response = await page.goto('/admin/audit');
  expect(response?.ok()).toBeTruthy();
  await expect(page).toHaveURL(/\/login\?next=\/admin\/audit$/);
  await hydrated(page);
  await page.getByLabel('Email').fill(DEMO.ops_head.email);
  await page.getByLabel('Password').fill(DEMO.ops_head.password);
  await page.getByTestId('login-submit').click();
  await expect(page).toHaveURL(/\/admin\/audit$/);
  await expect(page.getByRole('heading', { name: 'Audit log' })).toBeVisible();
});

test('a reviewer calling an admin server function gets 403', async ({ page }) => {
  await login(page, DEMO.reviewer.email, DEMO.reviewer.password);
  const res = await page.request.post('/rpc/list_users');
  expect(res.status()).toBe(403);
  const body = await res.json();
  expect(body.kind).toBe('forbidden');
  expect(typeof body.error).toBe('string');

  const pageRes = await page.goto('/admin/users');
  expect(pageRes?.status()).toBe(403);
  await expect(page.getByTestId('forbidden')).toBeVisible();
});

test('logout ends the session: the old cookie no longer works', async ({ page, browser }) => {
  await login(page, DEMO.executive.email, DEMO.executive.password);
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'amso_session');
  expect(session?.httpOnly).toBe(true);
  expect(session?.sameSite).toBe('Lax');

  await page.getByTestId('logout').click();
  await expect(page).toHaveURL(/\/login/);
  await expect(page.getByTestId('viewer-name')).toHaveCount(0);

  // Replay the cookie from before the logout in a fresh browser context.
  const replay = await browser.newContext();
  await replay.addCookies(cookies);
  const stale = await replay.newPage();
  await stale.goto('/reports');
  await expect(stale).toHaveURL(/\/login\?next=\/reports$/);
  const rpc = await stale.request.post('/rpc/get_viewer');
  expect(rpc.status()).toBe(200);
  expect(await rpc.json()).toBeNull();
  await replay.close();
});
