import { expect, Page } from '@playwright/test';

/** The demo accounts `amso serve --demo` creates (see src/demo.rs). */
export const DEMO = {
  reviewer: { email: 'reviewer@amso.test', password: 'reviewer-demo-pass', name: 'Rina Reviewer' },
  ops_head: { email: 'ops@amso.test', password: 'ops-demo-pass', name: 'Omar Ops' },
  executive: { email: 'exec@amso.test', password: 'exec-demo-pass', name: 'Eva Executive' },
  admin: { email: 'admin@amso.test', password: 'admin-demo-pass', name: 'Ada Admin' },
} as const;

/** Waits until the wasm bundle has hydrated the page, so clicks reach Leptos handlers. */
export async function hydrated(page: Page): Promise<void> {
  await page.waitForSelector('body[data-hydrated="true"]');
}

/** Logs in through the login page and waits for the landing page. */
export async function login(page: Page, email: string, password: string): Promise<void> {
  await page.goto('/login');
  await hydrated(page);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByTestId('login-submit').click();
  await expect(page.getByTestId('viewer-name')).toBeVisible();
}
