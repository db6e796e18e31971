/** The supplier's quick stock and price edit: what to send, and on which version.
 *
 * A PATCH sets stock to an absolute value, so an order reserving stock between loading
 * and saving would be overwritten. The editor therefore sends the version it loaded as
 * `If-Match`; the API refuses (412) when the product changed meanwhile, whoever changed
 * it, and the editor shows the new values while keeping what was typed. */

import { ApiError } from '../api/problem';
import type { Product } from '../api/types';

export interface QuickValues {
  stock: string;
  price: string;
}

export type QuickField = keyof QuickValues;

/** "1.234,50" or "12,5" as typed in German, French or Spanish become "1234.50" and "12.5";
 * "12.50" stays. Null when the text is not a plain decimal number. */
export function parseDecimal(text: string): string | null {
  let value = text.trim().replace(/[\s\u00a0\u202f']/g, '');
  if (!value) return null;
  const comma = value.lastIndexOf(',');
  const dot = value.lastIndexOf('.');
  if (comma > dot) value = value.replace(/\./g, '').replace(',', '.');
  else if (dot > comma && comma >= 0) value = value.replace(/,/g, '');
  return /^\d+(\.\d+)?$/.test(value) ? value : null;
}

/** Equal decimals compare equal whatever their trailing zeros ("120.000" and "120"). */
export function sameDecimal(a: string, b: string): boolean {
  const normal = (v: string): string => {
    const parsed = parseDecimal(v) ?? v;
    const [whole, fraction = ''] = parsed.split('.');
    const digits = whole.replace(/^0+(?=\d)/, '');
    const rest = fraction.replace(/0+$/, '');
    return rest ? `${digits}.${rest}` : digits;
  };
  return normal(a) === normal(b);
}

export function valuesOf(product: Pick<Product, 'stock' | 'price_tiers'>): QuickValues {
  return { stock: product.stock, price: product.price_tiers[0]?.unit_price ?? '' };
}

/** The PATCH body for what the user changed, or a field error per unreadable value.
 * The price is the first tier's (the base price); the other tiers are kept as they are. */
export function patchFor(
  product: Pick<Product, 'price_tiers'>,
  baseline: QuickValues,
  typed: QuickValues,
): { body: Record<string, unknown>; errors: Partial<Record<QuickField, 'invalid'>> } {
  const body: Record<string, unknown> = {};
  const errors: Partial<Record<QuickField, 'invalid'>> = {};
  const stock = parseDecimal(typed.stock);
  const price = parseDecimal(typed.price);
  if (stock === null) errors.stock = 'invalid';
  else if (!sameDecimal(stock, baseline.stock)) body.stock = stock;
  if (price === null) errors.price = 'invalid';
  else if (!sameDecimal(price, baseline.price)) {
    body.price_tiers = product.price_tiers.map((tier, index) => ({
      min_qty: tier.min_qty,
      unit_price: index === 0 ? price : tier.unit_price,
    }));
  }
  return { body, errors };
}

/** The `If-Match` header naming the version the editor loaded (the API's ETag). */
export function ifMatch(version: number): Record<string, string> {
  return { 'If-Match': `"${version}"` };
}

/** Whether a save failed because the product changed since it was loaded (412). */
export function isChangedElsewhere(error: unknown): boolean {
  return error instanceof ApiError && error.status === 412;
}

/** The API's field errors ("stock", "price_tiers.0.unit_price", …) beside the editor's
 * two fields; anything else stays for the row's general message. */
export function quickFieldErrors(fields: Record<string, string>): { byField: Partial<Record<QuickField, string>>; other: string[] } {
  const byField: Partial<Record<QuickField, string>> = {};
  const other: string[] = [];
  for (const [loc, message] of Object.entries(fields)) {
    const field: QuickField | null = loc === 'stock' ? 'stock' : loc.startsWith('price_tiers') ? 'price' : null;
    if (field) byField[field] = byField[field] ?? message;
    else other.push(message);
  }
  return { byField, other };
}
