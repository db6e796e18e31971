import { expect, type Page } from '@playwright/test';

export async function signIn(page: Page, email: string): Promise<void> {
  await page.goto('/sign-in');
  await page.getByTestId('identifier').fill(email);
  await page.getByTestId('send-code').click();
  await page.getByTestId('code').fill('000000');
  await page.getByTestId('verify').click();
  await expect(page.getByRole('link', { name: /account|konto/i })).toBeVisible();
}

/** Opens the first search result in stock for `query` and adds its minimum quantity to
 * the cart (the demo data leaves some products without stock). */
export async function addFirstResult(page: Page, query: string): Promise<string> {
  await page.goto(`/search?q=${encodeURIComponent(query)}&in_stock=true`);
  const card = page.getByTestId('product-card').first();
  await expect(card).toBeVisible();
  const name = (await card.getByTestId('product-name').textContent()) ?? '';
  await card.click();
  await page.getByTestId('add-to-cart').click();
  await expect(page.getByText(/added to cart|zum warenkorb hinzugefügt/i)).toBeVisible();
  return name;
}
