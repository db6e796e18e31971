import { readFile } from 'node:fs/promises';

import { expect, test } from '@playwright/test';

import { expectAccessible } from './axe';
import { signIn } from './helpers';
import { apiSignIn, placeOrder } from './trade';

const SPEC = 'Bolts M6, 94,650 pieces\nPacked in boxes of 500\n';

test('a buyer and a supplier exchange messages about an order, with an attachment', async ({ browser, request }) => {
  const order = await placeOrder(request, await apiSignIn(request, 'owner@hansen-bau.example'), 'bolt', /nordbolt/i);

  const buyer = await (await browser.newContext()).newPage();
  await signIn(buyer, 'owner@hansen-bau.example');
  await buyer.goto(`/orders/${order.id}`);
  await buyer.getByTestId('open-thread').click();
  await expect(buyer).toHaveURL(/\/messages\/[0-9a-f-]{36}$/);
  const threadUrl = buyer.url();
  await expect(buyer.getByText('No messages yet. Write the first one.')).toBeVisible();
  await buyer.getByTestId('message-text').fill('Please pack the bolts in boxes of 500 — details attached.');
  const chooser = buyer.waitForEvent('filechooser');
  await buyer.getByTestId('attach').click();
  await (await chooser).setFiles({ name: 'packing.txt', mimeType: 'text/plain', buffer: Buffer.from(SPEC) });
  await expect(buyer.getByTestId('picked-file')).toContainText('packing.txt');
  await buyer.getByTestId('send-message').click();
  await expect(buyer.getByTestId('message')).toHaveCount(1);
  await expect(buyer.getByTestId('message').getByTestId('attachment')).toContainText('packing.txt');
  // The composer is empty again once the message is sent.
  await expect(buyer.getByTestId('message-text')).toHaveValue('');
  await expect(buyer.getByTestId('picked-file')).toHaveCount(0);

  const supplier = await (await browser.newContext()).newPage();
  await signIn(supplier, 'sales@nordbolt.example');
  await supplier.getByRole('link', { name: 'Messages' }).first().click();
  const row = supplier.getByTestId('thread-row').first();
  await expect(row).toContainText('Hansen Bau');
  await expect(row.getByTestId('thread-unread')).toHaveText('1 new');
  await row.click();
  await expect(supplier.getByTestId('message-body')).toHaveText('Please pack the bolts in boxes of 500 — details attached.');
  const download = supplier.waitForEvent('download');
  await supplier.getByTestId('attachment').click();
  const file = await download;
  expect(file.suggestedFilename()).toBe('packing.txt');
  expect(await readFile((await file.path()) ?? '', 'utf8')).toBe(SPEC);
  await expectAccessible(supplier);

  await supplier.getByTestId('message-text').fill('Noted, boxes of 500.');
  await supplier.getByTestId('send-message').click();
  // Live: the buyer's open thread shows the answer without a reload.
  await expect(buyer.getByTestId('message-body').last()).toHaveText('Noted, boxes of 500.');
  expect(buyer.url()).toBe(threadUrl);
  await expectAccessible(buyer);

  await buyer.goto('/messages');
  await expect(buyer.getByTestId('thread-row').first()).toContainText('Nordbolt');
  await expectAccessible(buyer);
});

test('a message the API refuses keeps its text and files and says why', async ({ page, request }) => {
  const order = await placeOrder(request, await apiSignIn(request, 'owner@hansen-bau.example'), 'gloves', /.*/);
  await signIn(page, 'owner@hansen-bau.example');
  await page.goto(`/orders/${order.id}`);
  await page.getByTestId('open-thread').click();
  await page.getByTestId('message-text').fill('Our drawing');
  const chooser = page.waitForEvent('filechooser');
  await page.getByTestId('attach').click();
  // An executable renamed .pdf: the API reads the bytes and refuses it.
  await (await chooser).setFiles({ name: 'drawing.pdf', mimeType: 'application/pdf', buffer: Buffer.from('MZ\x90\x00not a pdf') });
  await page.getByTestId('send-message').click();
  await expect(page.getByRole('alert').first()).toBeVisible();
  await expect(page.getByTestId('message-text')).toHaveValue('Our drawing');
  await expect(page.getByTestId('picked-file')).toContainText('drawing.pdf');
  await expect(page.getByTestId('message')).toHaveCount(0);
});
