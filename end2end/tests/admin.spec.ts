import { expect, test } from '@playwright/test';
import { DEMO, hydrated, login } from './helpers';

test('an admin creates a user who then logs in with the right scope', async ({ page, browser }) => {
  const email = `new.reviewer.${Date.now()}@amso.test`;
  const password = 'a-strong-initial-pass';

  await login(page, DEMO.admin.email, DEMO.admin.password);
  await expect(page).toHaveURL(/\/admin\/users$/);
  await hydrated(page);
  const form = page.getByTestId('new-user-form');
  await form.getByLabel('Email').fill(email);
  await form.getByLabel('Display name').fill('Nia New');
  await form.getByLabel('Role').selectOption('reviewer');
  await form.getByLabel('Initial password').fill(password);
  await form.getByLabel('FR').check();
  await form.getByLabel('JP').check();
  await page.getByTestId('create-user').click();
  await expect(page.getByTestId('create-ok')).toContainText(email);
  const row = page.getByTestId('users-table').locator(`tr[data-email="${email}"]`);
  await expect(row).toContainText('FR, JP');
  await expect(row).toContainText('Reviewer');

  // The new user logs in in a separate browser.
  const other = await browser.newContext();
  const newPage = await other.newPage();
  await login(newPage, email, password);
  await expect(newPage).toHaveURL(/\/queues$/);
  await expect(newPage.getByTestId('viewer-role')).toHaveText('Reviewer');
  await expect(newPage.getByText('Markets: FR, JP', { exact: true })).toBeVisible();
  // The queues page works in exactly those markets.
  await expect(newPage.getByTestId('scope')).toHaveText('Your markets: FR, JP');
  await other.close();

  // The creation is in the audit log.
  await page.goto('/admin/audit');
  await expect(page.getByTestId('audit-table')).toContainText('user.create');
  await expect(page.getByTestId('audit-table')).toContainText(email);
});

test('a reviewer without markets is refused with a clear message', async ({ page }) => {
  await login(page, DEMO.admin.email, DEMO.admin.password);
  await hydrated(page);
  const form = page.getByTestId('new-user-form');
  await form.getByLabel('Email').fill(`no.markets.${Date.now()}@amso.test`);
  await form.getByLabel('Display name').fill('No Markets');
  await form.getByLabel('Role').selectOption('reviewer');
  await form.getByLabel('Initial password').fill('a-strong-initial-pass');
  await page.getByTestId('create-user').click();
  await expect(page.getByRole('alert')).toHaveText(/at least one market/);
});

test('an admin creates an API key, an ingest system uses it, and revoking it locks it out', async ({ page, request }) => {
  const name = `feed-${Date.now()}`;
  await login(page, DEMO.admin.email, DEMO.admin.password);
  await page.goto('/admin/keys');
  await hydrated(page);
  const form = page.getByTestId('new-key-form');
  await form.getByLabel('Name').fill(name);
  await form.getByLabel('Scope').selectOption('ingest');
  await page.getByTestId('create-key').click();
  const secret = (await page.getByTestId('new-key-secret').textContent())!.trim();
  expect(secret).toMatch(/^amso_[0-9a-f]{48}$/);

  const submit = () =>
    request.post('/api/v1/ads', {
      headers: { Authorization: `Bearer ${secret}` },
      data: { external_id: `${name}-1`, market: 'FR', headline: 'Vélos électriques en promotion' },
    });
  expect((await submit()).status()).toBe(202);

  const row = page.getByTestId('keys-table').locator(`tr[data-key="${name}"]`);
  await expect(row).toContainText('live');
  await row.getByRole('button', { name: 'Revoke' }).click();
  await expect(row).toContainText('revoked');
  const refused = await submit();
  expect(refused.status()).toBe(401);
  expect((await refused.json()).kind).toBe('unauthenticated');

  await page.goto('/admin/audit');
  await expect(page.getByTestId('audit-table')).toContainText('apikey.revoke');
});
