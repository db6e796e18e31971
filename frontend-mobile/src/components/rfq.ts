/** The RFQ screens' logic, kept apart from the screens so it can be tested on its own:
 * the request and quote bodies as the API takes them, the side-by-side comparison grid
 * and the line-by-line award. The API stays the judge of every value; this only shapes
 * what the user typed and never rounds money through floats. */

import type {
  AwardLine,
  Comparison,
  ComparisonOffer,
  PaymentTerms,
  QuoteSubmit,
  Rfq,
  RfqCreate,
  RfqStatus,
} from '../api/rfqTypes';
import { isApiError } from '../api/problem';
import type { Membership } from '../api/types';

/** Who may ask for quotes and who may answer them: the API's role table
 * (companies/permissions.py). Viewers read both sides. */
export function mayBuy(membership: Membership | null): boolean {
  return !!membership && membership.company_kind !== 'supplier' && ['owner', 'admin', 'purchaser'].includes(membership.role);
}

export function mayQuote(membership: Membership | null): boolean {
  return !!membership && membership.company_kind !== 'buyer' && ['owner', 'admin', 'sales'].includes(membership.role);
}

/** The messages of a refusal that name no field (a rule across fields, such as a deadline
 * in the past): they cannot sit beside a field, so the form shows them with its notice. */
export function formLevelErrors(error: unknown): string[] {
  if (!isApiError(error)) return [];
  return (error.problem?.errors ?? []).filter((e) => e.loc.every((part) => part === 'body')).map((e) => e.msg);
}

/** At least two suppliers, so the buyer has something to compare. */
export const MIN_SUPPLIERS = 2;

// ---- decimals -------------------------------------------------------------------------

/** "0,35" (a comma keyboard) as "0.35"; anything else as typed, for the API to judge. */
export function normalizeDecimal(text: string): string {
  const trimmed = text.trim();
  return /^\d+,\d+$/.test(trimmed) ? trimmed.replace(',', '.') : trimmed;
}

/** The exact sum of decimal strings ("300.00" + "620.5" = "920.50"). */
export function sumDecimals(values: string[]): string {
  const scale = Math.max(2, ...values.map((v) => (v.split('.')[1] ?? '').length));
  let total = 0n;
  for (const value of values) {
    const negative = value.startsWith('-');
    const [whole, fraction = ''] = value.replace('-', '').split('.');
    const units = BigInt(whole || '0') * 10n ** BigInt(scale) + BigInt((fraction + '0'.repeat(scale)).slice(0, scale) || '0');
    total += negative ? -units : units;
  }
  const sign = total < 0n ? '-' : '';
  const digits = (total < 0n ? -total : total).toString().padStart(scale + 1, '0');
  return `${sign}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

// ---- dates ----------------------------------------------------------------------------

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** The local calendar date `days` from `now`, as YYYY-MM-DD (what the date fields show). */
export function dateInDays(days: number, now: Date = new Date()): string {
  const date = new Date(now.getFullYear(), now.getMonth(), now.getDate() + days);
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** The end of a YYYY-MM-DD day in the user's time zone, as an ISO instant with its zone
 * (the API refuses times without one). Text that is not a date goes to the API unchanged,
 * whose answer then names the field. */
export function endOfDay(date: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date.trim());
  if (!match) return date.trim();
  const [year, month, day] = [Number(match[1]), Number(match[2]) - 1, Number(match[3])];
  const local = new Date(year, month, day, 23, 59, 0);
  if (local.getFullYear() !== year || local.getMonth() !== month || local.getDate() !== day) return date.trim();
  return local.toISOString();
}

// ---- the request ----------------------------------------------------------------------

export interface RfqLineDraft {
  /** Set when the line is a catalog product; the description then starts as its name. */
  productId: string | null;
  description: string;
  quantity: string;
  unit: string;
  targetPrice: string;
}

export interface SupplierChoice {
  id: string;
  name: string;
  country: string;
}

export interface RfqDraft {
  title: string;
  description: string;
  lines: RfqLineDraft[];
  suppliers: SupplierChoice[];
  currency: string;
  deliveryCountry: string;
  deadline: string;
  paymentTerms: PaymentTerms;
}

export function emptyLine(): RfqLineDraft {
  return { productId: null, description: '', quantity: '', unit: 'piece', targetPrice: '' };
}

/** What the form checks before sending; everything else is the API's to say. Keys are
 * the API's field names, values translation keys. */
export function draftErrors(draft: RfqDraft): Record<string, string> {
  const errors: Record<string, string> = {};
  if (draft.suppliers.length < MIN_SUPPLIERS) errors.invited_supplier_ids = 'rfq.errors.twoSuppliers';
  return errors;
}

/** An invited-only request to the chosen suppliers. Every line is sent, so the API's
 * `items.<n>.<field>` errors point at the line the user sees as number n + 1. */
export function rfqBody(draft: RfqDraft): RfqCreate {
  return {
    title: draft.title,
    description: draft.description,
    items: draft.lines.map((line) => ({
      product_id: line.productId,
      description: line.description.trim(),
      quantity: normalizeDecimal(line.quantity),
      unit: line.unit.trim().toLowerCase(),
      target_unit_price: line.targetPrice.trim() ? normalizeDecimal(line.targetPrice) : null,
    })),
    currency: draft.currency.trim().toUpperCase(),
    delivery_country: draft.deliveryCountry.trim().toUpperCase(),
    deadline: endOfDay(draft.deadline),
    visibility: 'invited',
    invited_supplier_ids: draft.suppliers.map((s) => s.id),
    payment_terms: draft.paymentTerms,
  };
}

/** Adds or removes a supplier, keeping the order in which they were chosen. */
export function toggleSupplier(chosen: SupplierChoice[], supplier: SupplierChoice): SupplierChoice[] {
  return chosen.some((s) => s.id === supplier.id) ? chosen.filter((s) => s.id !== supplier.id) : [...chosen, supplier];
}

/** The distinct suppliers of a list of catalog products, in the order they first appear,
 * leaving out the buyer's own company (a company that both buys and sells). */
export function suppliersOf(products: { supplier: SupplierChoice }[], exclude: string | null): SupplierChoice[] {
  const seen = new Map<string, SupplierChoice>();
  for (const { supplier } of products) {
    if (supplier.id !== exclude && !seen.has(supplier.id)) seen.set(supplier.id, { id: supplier.id, name: supplier.name, country: supplier.country });
  }
  return [...seen.values()];
}

// ---- the quote ------------------------------------------------------------------------

export interface QuoteDraft {
  /** Unit price per RFQ item id, as typed; a blank one leaves the item unquoted. */
  prices: Record<string, string>;
  validUntil: string;
  leadTimeDays: string;
  paymentTerms: PaymentTerms;
  terms: string;
  notes: string;
}

export function quoteDraftFor(rfq: Rfq, previous: { items: { rfq_item_id: string; unit_price: string }[]; valid_until: string; lead_time_days: number; payment_terms: PaymentTerms; terms: string; notes: string } | null, now: Date = new Date()): QuoteDraft {
  if (previous) {
    const until = new Date(previous.valid_until);
    return {
      prices: Object.fromEntries(previous.items.map((item) => [item.rfq_item_id, item.unit_price])),
      validUntil: `${until.getFullYear()}-${pad(until.getMonth() + 1)}-${pad(until.getDate())}`,
      leadTimeDays: String(previous.lead_time_days),
      paymentTerms: previous.payment_terms,
      terms: previous.terms,
      notes: previous.notes,
    };
  }
  return { prices: {}, validUntil: dateInDays(14, now), leadTimeDays: '', paymentTerms: rfq.payment_terms, terms: '', notes: '' };
}

/** The quote body and, for errors, which RFQ item each sent line is: the API names a
 * price by its index in `items`, the form by the item it belongs to. */
export function quoteBody(rfq: Rfq, draft: QuoteDraft): { body: QuoteSubmit; fieldOf: (rfqItemId: string) => string | null } {
  const priced = rfq.items.filter((item) => (draft.prices[item.id] ?? '').trim() !== '');
  return {
    body: {
      items: priced.map((item) => ({ rfq_item_id: item.id, unit_price: normalizeDecimal(draft.prices[item.id]) })),
      valid_until: endOfDay(draft.validUntil),
      lead_time_days: draft.leadTimeDays.trim(),
      payment_terms: draft.paymentTerms,
      terms: draft.terms,
      notes: draft.notes,
    },
    fieldOf: (rfqItemId) => {
      const index = priced.findIndex((item) => item.id === rfqItemId);
      return index < 0 ? null : `items.${index}.unit_price`;
    },
  };
}

/** Whether the supplier may still send or revise a quote. */
export function canQuote(rfq: Rfq, now: Date = new Date()): boolean {
  return rfq.status === 'open' && new Date(rfq.deadline) > now;
}

// ---- comparison and award -------------------------------------------------------------

/** One row per RFQ item, one column per quote (cheapest total first, as the API sorts
 * them); a cell is that supplier's offer for the item, or null when it did not price it. */
export function comparisonGrid(comparison: Comparison): { itemId: string; cells: (ComparisonOffer | null)[] }[] {
  return comparison.items.map((item) => ({
    itemId: item.rfq_item_id,
    cells: comparison.quotes.map((quote) => item.offers.find((offer) => offer.quote_id === quote.quote_id) ?? null),
  }));
}

/** Which quote each item is awarded to; null leaves the item unawarded. */
export type AwardChoice = Record<string, string | null>;

/** The starting choice: every item to its best offer (the API sorts offers by price,
 * then lead time), so the buyer only changes what they disagree with. */
export function initialAward(comparison: Comparison): AwardChoice {
  return Object.fromEntries(comparison.items.map((item) => [item.rfq_item_id, item.offers[0]?.quote_id ?? null]));
}

export function chooseOffer(choice: AwardChoice, itemId: string, quoteId: string | null): AwardChoice {
  return { ...choice, [itemId]: quoteId };
}

/** The award's lines, in the RFQ's item order; unawarded items are left out. */
export function awardLines(comparison: Comparison, choice: AwardChoice): AwardLine[] {
  return comparison.items.flatMap((item) => {
    const quoteId = choice[item.rfq_item_id];
    return quoteId && item.offers.some((o) => o.quote_id === quoteId) ? [{ rfq_item_id: item.rfq_item_id, quote_id: quoteId }] : [];
  });
}

export interface AwardOrder {
  quoteId: string;
  supplierName: string;
  lines: number;
  total: string;
}

/** What the award will order: one order per awarded supplier with its line count and
 * total at the quoted prices, in the order of the comparison's columns. */
export function awardOrders(comparison: Comparison, choice: AwardChoice): AwardOrder[] {
  const lines = awardLines(comparison, choice);
  return comparison.quotes.flatMap((quote) => {
    const offers = lines
      .filter((line) => line.quote_id === quote.quote_id)
      .map((line) => comparison.items.find((i) => i.rfq_item_id === line.rfq_item_id)!.offers.find((o) => o.quote_id === quote.quote_id)!);
    return offers.length ? [{ quoteId: quote.quote_id, supplierName: quote.supplier_name, lines: offers.length, total: sumDecimals(offers.map((o) => o.line_total)) }] : [];
  });
}

/** The buyer's next steps for an RFQ in each status. */
export function buyerActions(status: RfqStatus): ('publish' | 'cancel' | 'award')[] {
  if (status === 'draft') return ['publish', 'cancel'];
  if (status === 'open') return ['award', 'cancel'];
  return [];
}
