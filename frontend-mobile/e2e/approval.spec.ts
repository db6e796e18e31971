import { readFileSync } from 'node:fs';

import { expect, type APIRequestContext, test } from '@playwright/test';

import { signIn } from './helpers';

interface Item {
  id: string;
  name: string;
  unit_price: string | null;
  base_price: string | null;
  moq: string;
  order_multiple: string | null;
  supplier: { name: string };
}

/** A Nordbolt product and a quantity whose total is over the purchaser's 5,000 limit,
 * within stock. */
async function bigOrder(request: APIRequestContext): Promise<{ item: Item; quantity: number }> {
  const page = await (await request.get('/api/v1/products?q=bolt&limit=100')).json();
  for (const item of page.items as Item[]) {
    if (!/nordbolt/i.test(item.supplier.name)) continue;
    const price = Number(item.unit_price ?? item.base_price);
    const detail = await (await request.get(`/api/v1/products/${item.id}`)).json();
    const step = Number(item.order_multiple ?? 1);
    let quantity = Math.max(Number(item.moq), Math.ceil(6000 / price));
    quantity = Math.ceil(quantity / step) * step;
    if (quantity <= Number(detail.stock)) return { item, quantity };
  }
  throw new Error('no Nordbolt product can make an order over 5,000');
}

test('a purchaser over the limit waits, the owner approves, and only then does the supplier see the order, which it confirms and ships while the buyer watches', async ({ browser, request }) => {
  const { item, quantity } = await bigOrder(request);

  const purchaser = await (await browser.newContext()).newPage();
  await signIn(purchaser, 'purchaser@hansen-bau.example');
  await purchaser.goto(`/products/${item.id}`);
  await purchaser.getByTestId('quantity').fill(String(quantity));
  await purchaser.getByTestId('add-to-cart').click();
  await expect(purchaser.getByText(/added to cart/i)).toBeVisible();
  await purchaser.goto('/cart');
  await purchaser.getByTestId('line1').fill('Hafenstraße 12');
  await purchaser.getByTestId('postal-code').fill('20457');
  await purchaser.getByTestId('city').fill('Hamburg');
  await purchaser.getByTestId('country').fill('DE');
  await purchaser.getByTestId('place-orders').click();
  await expect(purchaser.getByText(/1 orders? placed/)).toBeVisible();
  const row = purchaser.getByTestId('order-row').first();
  await expect(row).toContainText('Waiting for approval');
  const number = ((await row.textContent()) ?? '').match(/Order ([A-Z]+-\d{4}-\d+)/)?.[1] ?? '';
  expect(number).not.toBe('');

  const supplier = await (await browser.newContext()).newPage();
  await signIn(supplier, 'sales@nordbolt.example');
  await supplier.goto('/orders');
  await expect(supplier.getByRole('heading', { name: 'Orders' })).toBeVisible();
  await supplier.waitForLoadState('networkidle');
  await expect(supplier.getByText(`Order ${number}`)).toHaveCount(0);

  const owner = await (await browser.newContext()).newPage();
  await signIn(owner, 'owner@hansen-bau.example');
  await owner.goto('/approvals');
  const approval = owner.getByTestId('approval').filter({ hasText: number });
  await expect(approval).toBeVisible();
  await approval.getByTestId('approve').click();
  await expect(approval).toHaveCount(0);

  // The buyer watches the order while the supplier works on it.
  await purchaser.getByText(`Order ${number}`).click();
  await expect(purchaser.getByTestId('order-detail-status')).toContainText('Placed');

  await supplier.reload();
  await supplier.getByText(`Order ${number}`).click();
  await supplier.getByTestId('action-confirm').click();
  await expect(supplier.getByTestId('order-detail-status')).toContainText('Confirmed');
  await expect(purchaser.getByTestId('order-detail-status')).toContainText('Confirmed');
  await supplier.getByTestId('carrier').fill('DHL');
  await supplier.getByTestId('tracking').fill('JD0146000012345');
  await supplier.getByTestId('action-ship').click();
  await expect(supplier.getByTestId('order-detail-status')).toContainText('Shipped');
  // Live: the buyer's screen changes without a reload.
  await expect(purchaser.getByTestId('order-detail-status')).toContainText('Shipped');
  // The invoice downloads through the API client with the session, named by the order.
  const download = purchaser.waitForEvent('download');
  await purchaser.getByTestId('invoice').click();
  const file = await download;
  expect(file.suggestedFilename()).toBe(`${number}.pdf`);
  const path = await file.path();
  expect(readFileSync(path).subarray(0, 5).toString()).toBe('%PDF-');
});
