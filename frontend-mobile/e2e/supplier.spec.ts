import { expect, test } from '@playwright/test';

import { expectAccessible } from './axe';
import { signIn } from './helpers';
import { apiSignIn, orderProduct, placeOrder } from './trade';

test('the supplier edits stock and price of a product and the buyer sees the new price', async ({ browser }) => {
  const supplier = await (await browser.newContext()).newPage();
  await signIn(supplier, 'sales@nordbolt.example');
  // A supplier lands on its dashboard.
  await expect(supplier.getByRole('heading', { name: 'Dashboard' })).toBeVisible();
  await supplier.getByRole('link', { name: 'My products' }).first().click();
  // Drafts and archived products are listed too; a buyer sees only an active one.
  const card = supplier
    .getByTestId('supplier-product')
    .filter({ has: supplier.getByTestId('supplier-product-status').filter({ hasText: /^Active$/ }) })
    .first();
  await expect(card.getByTestId('quick-stock')).not.toHaveValue('');
  const href = (await card.getByTestId('supplier-product-name').getAttribute('href')) ?? '';
  const name = (await card.getByTestId('supplier-product-name').textContent()) ?? '';
  expect(href).toMatch(/^\/products\//);

  // Unreadable input is named beside its field, and nothing typed is lost.
  await card.getByTestId('quick-stock').fill('lots');
  await card.getByTestId('quick-save').click();
  await expect(card.getByText('Enter a number, e.g. 12.50')).toBeVisible();
  await expect(card.getByTestId('quick-stock')).toHaveValue('lots');
  // The API's own field message (stock has at most three decimals) also stands beside it.
  await card.getByTestId('quick-stock').fill('12.34567');
  await card.getByTestId('quick-save').click();
  await expect(card.getByRole('alert').first()).toBeVisible();
  await expect(card.getByTestId('quick-stock')).toHaveValue('12.34567');

  await card.getByTestId('quick-stock').fill('4321');
  await card.getByTestId('quick-price').fill('98,76');
  await card.getByTestId('quick-save').click();
  await expect(card.getByText('Saved. Buyers see the new values.')).toBeVisible();
  await expect(card.getByTestId('quick-price')).toHaveValue('98.76');

  const buyer = await (await browser.newContext()).newPage();
  await signIn(buyer, 'owner@hansen-bau.example');
  await buyer.goto(href);
  await expect(buyer.getByRole('heading', { name })).toBeVisible();
  await expect(buyer.getByText(/: €98\.76 \//).first()).toBeVisible();
  await expect(buyer.getByTestId('stock')).toHaveText('In stock: 4,321');
});

test('the supplier dashboard lists orders to confirm and links to them and to the RFQs', async ({ page, request }) => {
  const buyer = await apiSignIn(request, 'owner@hansen-bau.example');
  const order = await placeOrder(request, buyer, 'bolt', /nordbolt/i);
  await signIn(page, 'sales@nordbolt.example');
  await page.goto('/dashboard');
  const queue = page.getByTestId('queue-placed');
  await expect(queue.getByTestId('queue-count')).not.toHaveText('0');
  await expect(page.getByTestId('all-rfqs')).toHaveAttribute('href', '/rfqs/inbox');
  await queue.getByText(`Order ${order.number}`).click();
  await expect(page.getByTestId('action-confirm')).toBeVisible();
  await page.getByTestId('action-confirm').click();
  await expect(page.getByTestId('order-detail-status')).toContainText('Confirmed');
  await page.goto('/dashboard');
  await expect(page.getByTestId('queue-confirmed').getByText(`Order ${order.number}`)).toBeVisible();
  await expect(page.getByTestId('queue-placed').getByText(`Order ${order.number}`)).toHaveCount(0);
});

test('a stock edit never overwrites stock an order reserved meanwhile', async ({ page, request }) => {
  const nordbolt = await apiSignIn(request, 'sales@nordbolt.example');
  // The first page of the supplier's own listing, as the screen shows it: an active product in stock.
  const own = await (await request.get('/api/v1/products/mine?limit=10', { headers: nordbolt.headers })).json();
  const orderable = own.items.find((item: { status: string; in_stock: boolean }) => item.status === 'active' && item.in_stock);
  const productId = orderable.id as string;
  const moq = Number(orderable.moq);
  await signIn(page, 'sales@nordbolt.example');
  await page.goto('/my-products');
  const card = page.getByTestId('supplier-product').filter({ has: page.locator(`a[href="/products/${productId}"]`) });
  await expect(card.getByTestId('quick-stock')).not.toHaveValue('');
  const before = Number(await card.getByTestId('quick-stock').inputValue());

  // While the supplier looks at the old figure, a buyer's order reserves some of it.
  await orderProduct(request, await apiSignIn(request, 'owner@hansen-bau.example'), productId);
  const now = before - moq;

  await card.getByTestId('quick-stock').fill(String(before + 100));
  await card.getByTestId('quick-save').click();
  await expect(card.getByText(/changed since you opened it/)).toContainText(`now ${now.toLocaleString('en-GB')} in stock`);
  await expect(card.getByTestId('quick-stock')).toHaveValue(String(before + 100));
  // Saving again, knowingly, sets the typed figure.
  await card.getByTestId('quick-save').click();
  await expect(card.getByText('Saved. Buyers see the new values.')).toBeVisible();
  const stored = await (await request.get(`/api/v1/products/${productId}`)).json();
  expect(Number(stored.stock)).toBe(before + 100);
});

for (const path of ['/dashboard', '/my-products']) {
  test(`no serious or critical accessibility violation on ${path}, signed in as a supplier`, async ({ page }) => {
    await signIn(page, 'sales@nordbolt.example');
    await page.goto(path);
    await expect(page.getByRole('heading').first()).toBeVisible();
    await expectAccessible(page);
  });
}
