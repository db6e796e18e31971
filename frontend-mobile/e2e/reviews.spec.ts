import { expect, test } from '@playwright/test';

import { expectAccessible } from './axe';
import { signIn } from './helpers';
import { apiSignIn, placeOrder, transition } from './trade';

test('a buyer reviews the supplier of a completed order, and the rating shows on its products', async ({ page, request, browser }) => {
  const buyer = await apiSignIn(request, 'owner@hansen-bau.example');
  const supplier = await apiSignIn(request, 'sales@nordbolt.example');
  const order = await placeOrder(request, buyer, 'bolt', /nordbolt/i);
  await transition(request, supplier, order.id, 'confirm');
  await transition(request, supplier, order.id, 'ship', { carrier: 'DHL', tracking_number: 'JD0146000099' });
  await transition(request, supplier, order.id, 'deliver');

  await signIn(page, 'owner@hansen-bau.example');
  await page.goto(`/orders/${order.id}`);
  // Not before the order is completed.
  await expect(page.getByTestId('review-form')).toHaveCount(0);
  await page.getByTestId('action-complete').click();
  await expect(page.getByTestId('order-detail-status')).toContainText('Completed');
  const form = page.getByTestId('review-form');
  await expect(form).toBeVisible();
  await expect(page.getByTestId('submit-review')).toBeDisabled();
  await page.getByRole('radio', { name: '4 stars' }).click();
  await page.getByTestId('review-comment').fill('Exactly as ordered, well packed.');
  await expectAccessible(page);
  await page.getByTestId('submit-review').click();
  await expect(page.getByTestId('review-sent')).toContainText('Thank you');

  // Another user of the buyer, on another device: the order says it was reviewed, so no
  // second review is offered.
  const colleague = await (await browser.newContext()).newPage();
  await signIn(colleague, 'purchaser@hansen-bau.example');
  await colleague.goto(`/orders/${order.id}`);
  await expect(colleague.getByTestId('review-done')).toContainText('You have reviewed this order.');
  await expect(colleague.getByTestId('review-form')).toHaveCount(0);
  await expectAccessible(colleague);

  await page.goto(`/products/${order.productId}`);
  await expect(page.getByTestId('supplier-rating')).toContainText(/Rating \d(\.\d)? \(\d+\)/);
});
