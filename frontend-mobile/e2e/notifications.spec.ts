import { expect, test } from '@playwright/test';

import { expectAccessible } from './axe';
import { signIn } from './helpers';
import { apiSignIn, placeOrder } from './trade';

test('the notification inbox receives a live notification and marks it read', async ({ page, request }) => {
  // The socket opens with a single-use ticket from POST /ws/ticket, never a token.
  const sockets: string[] = [];
  page.on('websocket', (socket) => {
    if (socket.url().includes('/api/v1/ws')) sockets.push(socket.url());
  });
  await signIn(page, 'owner@nordbolt.example');
  await page.goto('/notifications');
  await expect(page.getByRole('heading', { name: 'Notifications' })).toBeVisible();
  await page.waitForLoadState('networkidle');
  // Set on this page load only: still there afterwards means the page was never reloaded.
  await page.evaluate(() => Object.assign(window, { sameLoad: true }));

  const order = await placeOrder(request, await apiSignIn(request, 'owner@hansen-bau.example'), 'bolt', /nordbolt/i);

  // The WebSocket brings it.
  const note = page.getByTestId('notification').filter({ hasText: order.number });
  await expect(note).toBeVisible();
  expect(sockets.length).toBeGreaterThan(0);
  for (const url of sockets) expect(url).toMatch(/\/api\/v1\/ws\?ticket=[^&]+$/);
  expect(await page.evaluate(() => (window as unknown as { sameLoad?: boolean }).sameLoad)).toBe(true);
  await expect(page.getByRole('link', { name: /Notifications \(\d+\)/ })).toBeVisible();
  await expectAccessible(page);
  await note.getByTestId('mark-read').click();
  await expect(note.getByTestId('mark-read')).toHaveCount(0);
  await note.getByRole('button', { name: 'Open' }).click();
  await expect(page).toHaveURL(new RegExp(`/orders/${order.id}$`));
});

test('notification preferences are saved on the account screen', async ({ page }) => {
  await signIn(page, 'sales@nordbolt.example');
  await page.goto('/account');
  const email = page.getByRole('switch', { name: 'New messages: E-mail' });
  await expect(email).toBeVisible();
  const was = await email.isChecked();
  await email.click();
  await page.getByTestId('save-preferences').click();
  await expect(page.getByText('Saved')).toBeVisible();
  await page.reload();
  await expect(page.getByRole('switch', { name: 'New messages: E-mail' })).toBeChecked({ checked: !was });
  await expectAccessible(page);
});
