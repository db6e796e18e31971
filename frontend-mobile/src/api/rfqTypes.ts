/** The API's RFQ, quote and comparison shapes (trade/rfqs/schemas.py). Money and
 * quantities are decimal strings. */

export type RfqStatus = 'draft' | 'open' | 'awarded' | 'closed' | 'cancelled' | 'expired';
export type QuoteStatus = 'submitted' | 'accepted' | 'rejected' | 'withdrawn' | 'expired';
export type PaymentTerms = 'prepaid' | 'net_15' | 'net_30' | 'net_60';
export const PAYMENT_TERMS: PaymentTerms[] = ['prepaid', 'net_15', 'net_30', 'net_60'];

export interface RfqItem {
  id: string;
  position: number;
  product_id: string | null;
  description: string;
  quantity: string;
  unit: string;
  target_unit_price: string | null;
  /** Once awarded: the winning quote. A supplier is shown only its own wins, once the
   * order the award made has reached it. */
  awarded_quote_id?: string | null;
  awarded_supplier_id?: string | null;
  awarded_supplier_name?: string | null;
}

export interface Rfq {
  id: string;
  buyer_id: string;
  buyer_name: string;
  title: string;
  description: string;
  currency: string;
  delivery_country: string;
  deadline: string;
  visibility: 'public' | 'invited';
  status: RfqStatus;
  payment_terms: PaymentTerms;
  published_at: string | null;
  created_at: string;
  items: RfqItem[];
  /** The buyer's view only. */
  invited_supplier_ids?: string[] | null;
}

export interface RfqItemInput {
  product_id?: string | null;
  description: string;
  quantity: string;
  unit: string;
  target_unit_price?: string | null;
}

export interface RfqCreate {
  title: string;
  description: string;
  items: RfqItemInput[];
  currency: string;
  delivery_country: string;
  deadline: string;
  visibility: 'public' | 'invited';
  invited_supplier_ids: string[];
  payment_terms?: PaymentTerms;
}

export interface Quote {
  id: string;
  rfq_id: string;
  supplier_id: string;
  supplier_name: string;
  status: QuoteStatus;
  revision: number;
  currency: string;
  valid_until: string;
  lead_time_days: number;
  payment_terms: PaymentTerms;
  terms: string;
  notes: string;
  submitted_at: string;
  items: { rfq_item_id: string; unit_price: string; line_total: string }[];
  total: string;
}

export interface QuoteSubmit {
  items: { rfq_item_id: string; unit_price: string }[];
  valid_until: string;
  lead_time_days: string;
  payment_terms: PaymentTerms;
  terms: string;
  notes: string;
}

export interface ComparisonOffer {
  quote_id: string;
  supplier_id: string;
  supplier_name: string;
  unit_price: string;
  line_total: string;
  lead_time_days: number;
  is_best: boolean;
}

export interface ComparisonItem {
  rfq_item_id: string;
  description: string;
  quantity: string;
  target_unit_price: string | null;
  offers: ComparisonOffer[];
}

export interface ComparisonQuote {
  quote_id: string;
  supplier_id: string;
  supplier_name: string;
  total: string;
  items_quoted: number;
  lead_time_days: number;
  valid_until: string;
}

export interface Comparison {
  rfq_id: string;
  currency: string;
  items: ComparisonItem[];
  quotes: ComparisonQuote[];
}

export interface AwardLine {
  rfq_item_id: string;
  quote_id: string;
}

export interface AwardResult {
  rfq: Rfq;
  order_ids: string[];
}

export interface Address {
  id: string;
  label: string;
  recipient: string | null;
  line1: string;
  line2: string | null;
  city: string;
  postal_code: string;
  region: string | null;
  country: string;
  is_default_shipping: boolean;
}
