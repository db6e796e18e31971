import AxeBuilder from '@axe-core/playwright';
import { expect, test } from '@playwright/test';

import { addFirstResult, signIn } from './helpers';

test('a visitor finds a product by a misspelt word', async ({ page }) => {
  await page.goto('/');
  await page.getByTestId('home-search').fill('glvoes');
  await page.getByTestId('home-search').press('Enter');
  await expect(page.getByTestId('product-card').first()).toContainText(/glove/i);
});

test('a buyer adds items from two suppliers, checks out and sees two orders', async ({ page }) => {
  await signIn(page, 'owner@hansen-bau.example');
  await addFirstResult(page, 'hex bolt');
  await addFirstResult(page, 'gloves');
  await page.goto('/cart');
  await expect(page.getByTestId('cart-group')).toHaveCount(2);
  await page.getByTestId('line1').fill('Hafenstraße 12');
  await page.getByTestId('postal-code').fill('20457');
  await page.getByTestId('city').fill('Hamburg');
  await page.getByTestId('country').fill('DE');
  await page.getByTestId('po-number').fill('PO-E2E-1');
  await page.getByTestId('place-orders').click();
  await expect(page.getByText('2 orders placed')).toBeVisible();
  await expect(page.getByTestId('order-row').first()).toBeVisible();
  expect(await page.getByTestId('order-row').count()).toBeGreaterThanOrEqual(2);
});

test('a checkout refused by the API keeps the form and shows the field message', async ({ page }) => {
  await signIn(page, 'owner@hansen-bau.example');
  await addFirstResult(page, 'hex bolt');
  await page.goto('/cart');
  await page.getByTestId('line1').fill('Hafenstraße 12');
  await page.getByTestId('postal-code').fill('20457');
  await page.getByTestId('city').fill('Hamburg');
  await page.getByTestId('country').fill('D1');
  await page.getByTestId('place-orders').click();
  await expect(page.getByRole('alert').first()).toBeVisible();
  await expect(page.getByTestId('line1')).toHaveValue('Hafenstraße 12');
  // The draft survives a reload (an app restart on the web).
  await page.reload();
  await expect(page.getByTestId('line1')).toHaveValue('Hafenstraße 12');
});

test('the banner appears when the API cannot be reached and goes when it is back, the typed form intact', async ({ page }) => {
  await page.goto('/sign-in');
  await page.getByTestId('identifier').fill('owner@hansen-bau.example');
  await page.route('**/api/v1/**', (route) => route.abort('connectionrefused'));
  await page.route('**/health/**', (route) => route.abort('connectionrefused'));
  await page.getByTestId('send-code').click();
  await expect(page.getByTestId('connection-banner')).toBeVisible();
  await expect(page.getByTestId('connection-banner')).toContainText(/retrying/i);
  await page.unroute('**/api/v1/**');
  await page.unroute('**/health/**');
  await expect(page.getByTestId('connection-banner')).toBeHidden({ timeout: 30_000 });
  await expect(page.getByTestId('identifier')).toHaveValue('owner@hansen-bau.example');
});

test('a product viewed before is readable offline', async ({ page, context }) => {
  await page.goto('/search?q=hex%20bolt');
  const card = page.getByTestId('product-card').first();
  const name = (await card.getByTestId('product-name').textContent()) ?? '';
  await card.click();
  await expect(page.getByRole('heading', { name })).toBeVisible({ timeout: 45_000 });
  const url = page.url();
  // The persister writes the cache at most every 500 ms.
  await page.waitForTimeout(1500);
  // The API is gone: the page itself still loads (as an installed app would), its reads fail.
  await page.route('**/api/v1/**', (route) => route.abort('internetdisconnected'));
  await page.goto(url);
  await expect(page.getByRole('heading', { name })).toBeVisible();
  await expect(page.getByText(/offline copy/i)).toBeVisible({ timeout: 30_000 });
  // And the device going offline marks it at once.
  await context.setOffline(true);
  await expect(page.getByTestId('connection-banner')).toBeVisible();
  await context.setOffline(false);
});

test('German throughout, including the API’s error messages', async ({ browser }) => {
  const context = await browser.newContext({ locale: 'de-DE' });
  const page = await context.newPage();
  await page.goto('/sign-in');
  await expect(page.getByRole('heading', { name: 'Anmelden' })).toBeVisible();
  await page.getByTestId('identifier').fill('niemand@beispiel.example');
  await page.getByTestId('send-code').click();
  await page.getByTestId('code').fill('111111');
  await page.getByTestId('verify').click();
  // The API's own problem message, in German because the app sends Accept-Language: de.
  const alert = page.getByRole('alert').first();
  await expect(alert).toBeVisible();
  await expect(alert).not.toContainText(/invalid|wrong|expired/i);
  await context.close();
});

for (const path of ['/', '/search?q=bolt', '/sign-in']) {
  test(`no serious or critical accessibility violation on ${path}`, async ({ page }) => {
    await page.goto(path);
    await page.waitForLoadState('networkidle');
    const results = await new AxeBuilder({ page }).analyze();
    const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect(bad.map((v) => `${v.id}: ${v.nodes.length}`)).toEqual([]);
  });
}
