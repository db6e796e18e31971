import AxeBuilder from '@axe-core/playwright';
import { expect, type Page, test } from '@playwright/test';

import { ApiClient } from '../src/api/client';
import { signIn } from './helpers';

/** Where screenshots of the RFQ screens go when E2E_SCREENSHOTS names a folder. */
const shots = process.env.E2E_SCREENSHOTS;

async function checkScreen(page: Page, name: string): Promise<void> {
  await page.waitForLoadState('networkidle');
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad.map((v) => `${name} ${v.id}: ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(' | ')}`)).toEqual([]);
  if (!shots) return;
  const size = page.viewportSize() ?? { width: 1280, height: 720 };
  for (const [label, width, height] of [['phone', 390, 1600], ['desktop', 1280, 1200]] as const) {
    await page.setViewportSize({ width, height });
    // The screen scrolls inside its own view, not the page: back to its top first.
    await page.evaluate(() => document.querySelectorAll('*').forEach((el) => el.scrollTo?.(0, 0)));
    await page.waitForTimeout(300);
    await page.screenshot({ path: `${shots}/${name}-${label}.png`, fullPage: true });
  }
  await page.setViewportSize(size);
}

async function quoteAs(page: Page, email: string, title: string, prices: [string, string], lead: string, accepted = true): Promise<void> {
  await signIn(page, email);
  await page.getByRole('link', { name: 'RFQs to answer' }).click();
  await checkScreen(page, `inbox-${email.split('@')[1].split('.')[0]}`);
  await page.getByTestId('rfq-row').filter({ hasText: title }).first().click();
  await expect(page.getByRole('heading', { name: title })).toBeVisible();
  await page.getByTestId('price-0').fill(prices[0]);
  await page.getByTestId('price-1').fill(prices[1]);
  await page.getByTestId('lead-time').fill(lead);
  await page.getByTestId('quote-terms').fill('FCA Hamburg');
  await page.getByTestId('submit-quote').click();
  if (accepted) await expect(page.getByTestId('quote-status')).toHaveText('Submitted');
}

test('the buyer runs an RFQ to two suppliers and awards lines to both', async ({ browser }) => {
  test.setTimeout(180_000);
  const title = `Fasteners and brackets ${Date.now()}`;
  const buyer = await (await browser.newContext()).newPage();
  await signIn(buyer, 'owner@hansen-bau.example');

  // From a Nordbolt product: its supplier is invited at once.
  await buyer.goto('/search?q=hex%20bolt&in_stock=true');
  await buyer.getByTestId('product-card').filter({ hasText: 'Nordbolt' }).first().click();
  await buyer.getByTestId('request-quote').click();
  await expect(buyer.getByTestId('line-0-description')).not.toHaveValue('');
  await expect(buyer.getByRole('checkbox', { name: /Nordbolt/ })).toBeChecked();
  await buyer.getByTestId('rfq-title').fill(title);
  // And a free-text line.
  await buyer.getByTestId('add-line').click();
  await buyer.getByTestId('line-1-description').fill('Wall brackets, galvanised, drawing B-12');
  await buyer.getByTestId('line-1-quantity').fill('200');

  // One supplier is not enough: the form says so beside the suppliers and keeps the input.
  await buyer.getByTestId('send-rfq').click();
  await expect(buyer.getByText('Choose at least two suppliers.')).toBeVisible();
  await expect(buyer.getByTestId('line-1-description')).toHaveValue('Wall brackets, galvanised, drawing B-12');

  await buyer.getByTestId('supplier-search').fill('cable');
  await buyer.getByTestId('supplier-search-go').click();
  await buyer.getByRole('checkbox', { name: /Thames Components/ }).click();
  await expect(buyer.getByRole('checkbox', { name: /Thames Components/ })).toBeChecked();
  await checkScreen(buyer, 'rfq-new');
  await buyer.getByTestId('send-rfq').click();
  await expect(buyer.getByText('Request sent to 2 suppliers.')).toBeVisible();
  await expect(buyer.getByTestId('rfq-detail-status')).toHaveText('Open for quotes');
  const rfqUrl = buyer.url();

  await buyer.getByRole('link', { name: 'RFQs', exact: true }).click();
  await expect(buyer.getByTestId('rfq-row').filter({ hasText: title })).toContainText('Open for quotes');
  await checkScreen(buyer, 'rfq-list');

  // The buyer watches the request while the suppliers answer.
  await buyer.goto(rfqUrl);
  await expect(buyer.getByText(/No quotes yet/)).toBeVisible();
  await checkScreen(buyer, 'rfq-waiting');

  // Each supplier quotes as its own user: Nordbolt is cheaper on the bolts, Thames on the brackets.
  const nordbolt = await (await browser.newContext()).newPage();
  await quoteAs(nordbolt, 'sales@nordbolt.example', title, ['0.05', '4.20'], '5');
  await checkScreen(nordbolt, 'quote-form');
  const thames = await (await browser.newContext()).newPage();
  // A price the API refuses: its message sits under that item's price, the rest is kept.
  await quoteAs(thames, 'owner@thames-components.example', title, ['0.09', '0'], '3', false);
  const bracketsLine = thames.getByTestId('quote-line').nth(1);
  await expect(bracketsLine.getByRole('alert')).toBeVisible();
  await expect(thames.getByTestId('quote-line').nth(0).getByRole('alert')).toHaveCount(0);
  await expect(thames.getByTestId('price-0')).toHaveValue('0.09');
  await thames.getByTestId('price-1').fill('3,10');
  await thames.getByTestId('submit-quote').click();
  await expect(thames.getByTestId('quote-status')).toHaveText('Submitted');

  // The quotes arrive live, without a reload.
  await expect(buyer.getByTestId('quote-card')).toHaveCount(2);
  const lines = buyer.getByTestId('compare-line');
  await expect(lines).toHaveCount(2);
  await lines.nth(0).getByRole('radio', { name: /Nordbolt/ }).click();
  await lines.nth(1).getByRole('radio', { name: /Thames Components/ }).click();
  await expect(buyer.getByTestId('award-order')).toHaveCount(2);
  await buyer.getByTestId('award-po').fill('PO-RFQ-1');
  await checkScreen(buyer, 'rfq-compare');
  await buyer.getByTestId('award').click();
  await expect(buyer.getByText('Awarded. Orders placed: 2.')).toBeVisible();
  await expect(buyer.getByTestId('rfq-detail-status')).toHaveText('Awarded');
  await expect(buyer.getByTestId('quote-card').filter({ hasText: 'Accepted' })).toHaveCount(2);
  // Which quote won each item comes from the API, also after a reload.
  await buyer.reload();
  await expect(buyer.getByTestId('item-award')).toHaveText([/Awarded to Nordbolt/, /Awarded to Thames Components/]);
  await expect(lines.nth(0).getByRole('radio', { name: /Nordbolt/ })).toBeChecked();
  await expect(lines.nth(0).getByRole('radio', { name: /Thames Components/ })).not.toBeChecked();
  await expect(lines.nth(1).getByRole('radio', { name: /Thames Components/ })).toBeChecked();
  await checkScreen(buyer, 'rfq-awarded');

  // Both suppliers see that their quote won, each on its own item only, and the buyer
  // has an order from each.
  await nordbolt.reload();
  await expect(nordbolt.getByTestId('quote-status')).toHaveText('Accepted');
  await expect(nordbolt.getByTestId('quote-line').nth(0).getByTestId('item-award')).toHaveText(/Awarded to you/);
  await expect(nordbolt.getByTestId('quote-line').nth(1).getByTestId('item-award')).toHaveCount(0);
  await thames.reload();
  await expect(thames.getByTestId('quote-status')).toHaveText('Accepted');
  await expect(thames.getByTestId('quote-line').nth(0).getByTestId('item-award')).toHaveCount(0);
  await expect(thames.getByTestId('quote-line').nth(1).getByTestId('item-award')).toHaveText(/Awarded to you/);
  await checkScreen(thames, 'quote-accepted');
  await buyer.goto('/orders');
  const rows = buyer.getByTestId('order-row');
  await expect(rows.filter({ hasText: 'Nordbolt' }).first()).toBeVisible();
  await expect(rows.filter({ hasText: 'Thames Components' }).first()).toBeVisible();
});

test('a request refused by the API shows the message beside the field and keeps what was typed; a cancel asks first', async ({ page }) => {
  await signIn(page, 'purchaser@hansen-bau.example');
  await page.goto('/rfqs');
  await page.getByTestId('new-rfq').click();
  await page.getByTestId('rfq-title').fill('Safety gloves for the winter');
  await page.getByTestId('line-0-description').fill('Winter work gloves, size 9');
  await page.getByTestId('line-0-quantity').fill('-5');
  await page.getByTestId('supplier-search').fill('cable');
  await page.getByTestId('supplier-search-go').click();
  const options = page.getByTestId('supplier-option');
  await expect(options.nth(1)).toBeVisible();
  await options.nth(0).click();
  await options.nth(1).click();
  await page.getByTestId('send-rfq').click();
  // The API's own message for the quantity of item 1, under that field.
  const line = page.getByTestId('rfq-line').first();
  await expect(line.getByRole('alert')).toBeVisible();
  await expect(page.getByTestId('line-0-quantity')).toHaveValue('-5');
  await expect(page.getByTestId('line-0-description')).toHaveValue('Winter work gloves, size 9');
  await page.getByTestId('line-0-quantity').fill('120');
  await page.getByTestId('send-rfq').click();
  await expect(page.getByText('Request sent to 2 suppliers.')).toBeVisible();
  // Cancelling asks once more, then the request is closed for quotes.
  await page.getByTestId('cancel-rfq').click();
  await page.getByTestId('confirm-cancel-rfq').click();
  await expect(page.getByTestId('rfq-detail-status')).toHaveText('Cancelled');
  await expect(page.getByTestId('cancel-rfq')).toHaveCount(0);
});

test('an expired access token is refreshed without the user noticing', async ({ baseURL }) => {
  // Phones hold a short-lived access token and a refresh token (the web's credential is the
  // HttpOnly session cookie, which has no access token to expire). This drives the app's own
  // API client as a phone uses it against the real API, whose access tokens live 60 s
  // here (ACCESS_TOKEN_TTL_SECONDS in serve-api.sh): it waits for the token to expire.
  test.setTimeout(150_000);
  const statuses: string[] = [];
  const session = { access: null as string | null, refresh: null as string | null, company: null as string | null, refreshes: 0, signedOut: 0 };
  const client = new ApiClient({
    baseUrl: baseURL ?? '',
    prefix: '/api/v1',
    language: () => 'en',
    companyId: () => session.company,
    auth: {
      accessToken: () => session.access,
      csrfToken: () => null,
      refresh: async () => {
        session.refreshes += 1;
        const pair = await client.post<{ access_token: string; refresh_token: string }>('/auth/refresh', { refresh_token: session.refresh }, { anonymous: true });
        session.access = pair.access_token;
        session.refresh = pair.refresh_token;
        return true;
      },
      signedOut: () => {
        session.signedOut += 1;
      },
    },
    fetchImpl: async (input, init) => {
      const response = await fetch(input, init);
      statuses.push(`${init?.method} ${String(input).replace(baseURL ?? '', '')} ${response.status}`);
      return response;
    },
  });
  const challenge = await client.post<{ challenge_id: string }>('/auth/otp/request', { email: 'owner@hansen-bau.example' }, { anonymous: true });
  const pair = await client.post<{ access_token: string; refresh_token: string; expires_in: number }>('/auth/otp/verify', { challenge_id: challenge.challenge_id, code: '000000' }, { anonymous: true });
  session.access = pair.access_token;
  session.refresh = pair.refresh_token;
  expect(pair.expires_in).toBe(60);
  const me = await client.get<{ email: string; companies: { company_id: string }[] }>('/me');
  expect(me.email).toBe('owner@hansen-bau.example');
  session.company = me.companies[0].company_id;

  // The API allows 5 s of clock leeway past the expiry.
  await new Promise((resolve) => setTimeout(resolve, (pair.expires_in + 7) * 1000));
  statuses.length = 0;
  const expired = session.access;
  // Three screens ask at once: one refresh serves them all, each gets its answer.
  const answers = await Promise.all([client.get<{ email: string }>('/me'), client.get<{ items: unknown[] }>('/rfqs'), client.get<{ items: unknown[] }>('/orders')]);
  expect(answers[0].email).toBe('owner@hansen-bau.example');
  expect(Array.isArray(answers[1].items) && Array.isArray(answers[2].items)).toBe(true);
  expect(session.refreshes).toBe(1);
  expect(session.signedOut).toBe(0);
  expect(session.access).not.toBe(expired);
  expect(statuses.filter((s) => s.startsWith('POST /api/v1/auth/refresh'))).toEqual(['POST /api/v1/auth/refresh 200']);
  expect(statuses.filter((s) => s.endsWith(' 401')).length).toBeGreaterThanOrEqual(1);
});
