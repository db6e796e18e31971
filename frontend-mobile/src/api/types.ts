/** The API's shapes the app reads (a subset of the OpenAPI schema at /api/openapi.json). */

export type Role = 'owner' | 'admin' | 'purchaser' | 'sales' | 'viewer';

export interface Membership {
  company_id: string;
  company_name: string;
  company_kind: 'buyer' | 'supplier' | 'both';
  verification_status: string;
  role: Role;
  spending_limit: string | null;
}

export interface Me {
  id: string;
  email: string | null;
  phone: string | null;
  name: string;
  locale: string;
  is_staff: boolean;
  created_at: string;
  companies: Membership[];
}

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: 'bearer';
  expires_in: number;
}

export interface BrowserSession {
  csrf_token: string;
  expires_in: number;
}

export interface OtpChallenge {
  challenge_id: string;
  expires_in: number;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface Health {
  status: 'ok' | 'degraded' | 'down';
  components?: Record<string, { status: string; mode?: string; latency_ms?: number }>;
}

export interface SupplierSummary {
  id: string;
  name: string;
  country: string;
  is_verified: boolean;
}

export interface ProductSearchItem {
  id: string;
  sku: string;
  name: string;
  supplier: SupplierSummary;
  category: { id: string; slug: string; name: string } | null;
  unit: string;
  currency: string;
  base_price: string | null;
  unit_price: string | null;
  price_quantity: string;
  moq: string;
  order_multiple: string | null;
  in_stock: boolean;
  lead_time_days: number;
  thumbnail_url: string | null;
  your_price: string | null;
}

export interface CategoryFacet {
  id: string;
  slug: string;
  name: string;
  path: string;
  parent_id: string | null;
  count: number;
}

export interface ProductFacets {
  total: number;
  is_exact: boolean;
  categories: CategoryFacet[];
  supplier_countries: { country: string; count: number }[];
}

export interface CategoryNode {
  id: string;
  slug: string;
  name: string;
  parent_id: string | null;
  path: string;
  children: CategoryNode[];
}

export interface PriceQuote {
  quantity: string;
  unit_price: string;
  line_total: string;
  currency: string;
  source: 'tiers' | 'price_list';
  tier_min_qty: string;
}

export interface ProductImage {
  id: string;
  alt_text: string;
  width: number;
  height: number;
  urls: Record<string, string>;
}

export interface Product {
  id: string;
  sku: string;
  name: string;
  description: string;
  category: { id: string; slug: string; name: string } | null;
  unit: string;
  currency: string;
  price_tiers: { min_qty: string; unit_price: string }[];
  base_price: string | null;
  moq: string;
  order_multiple: string | null;
  stock: string;
  in_stock: boolean;
  lead_time_days: number;
  attributes: Record<string, string>;
  status: string;
  images: ProductImage[];
  supplier: SupplierSummary;
  your_price: PriceQuote | null;
  /** Raised by every change; the product's ETag is `"<version>"`. */
  version: number;
}

/** One product of the acting supplier's own catalog (`GET /products/mine`), any status. */
export type OwnProduct = Pick<
  Product,
  | 'id'
  | 'sku'
  | 'name'
  | 'unit'
  | 'currency'
  | 'price_tiers'
  | 'base_price'
  | 'moq'
  | 'order_multiple'
  | 'stock'
  | 'in_stock'
  | 'lead_time_days'
  | 'version'
> & {
  status: 'draft' | 'active' | 'archived';
  moderation: { is_blocked: boolean; blocked_reason: string | null };
  created_at: string;
  updated_at: string;
};

export interface CartLine {
  product_id: string;
  sku: string;
  name: string;
  supplier_id: string;
  supplier_name?: string;
  unit: string;
  currency: string;
  quantity: string;
  unit_price: string;
  line_total: string;
  available: boolean;
  available_quantity?: string;
}

export interface Cart {
  buyer_id: string;
  lines: CartLine[];
  subtotals: { supplier_id: string; supplier_name?: string; currency: string; subtotal: string; lines: number }[];
}

export interface Transition {
  action: string;
  from_status: string | null;
  to_status: string;
  reason: string | null;
  created_at: string;
}

export interface Order {
  id: string;
  number: string;
  buyer_id: string;
  buyer_name?: string;
  supplier_id: string;
  supplier_name?: string;
  status: string;
  currency: string;
  subtotal: string;
  total: string;
  payment_terms: string;
  payment_status: string;
  amount_paid: string;
  po_number: string | null;
  carrier: string | null;
  tracking_number: string | null;
  created_at: string;
  /** Whether the buyer has reviewed the supplier for this order. */
  reviewed: boolean;
}

export interface OrderDetail extends Order {
  lines: { position: number; sku: string | null; name: string; unit: string; quantity: string; unit_price: string; line_total: string }[];
  history: Transition[];
}

export interface TrustSignals {
  rating_average: number | null;
  review_count: number;
  on_time_delivery_rate: number | null;
  delivered_order_count: number;
  rfq_response_median_seconds: number | null;
  message_response_median_seconds: number | null;
}

export interface CompanyProfile {
  id: string;
  name: string;
  kind: 'buyer' | 'supplier' | 'both';
  country: string;
  verification_status: string;
  trust: TrustSignals | null;
}

export interface AppNotification {
  id: string;
  company_id: string | null;
  event_type: string;
  title: string;
  body: string;
  link: string | null;
  data: Record<string, unknown>;
  read_at: string | null;
  created_at: string;
}

export interface NotificationPreference {
  event_type: string;
  in_app: boolean;
  email: boolean;
  sms: boolean;
  important: boolean;
}

export interface Thread {
  id: string;
  subject_type: 'rfq' | 'quote' | 'order';
  subject_id: string;
  buyer_id: string;
  supplier_id: string;
  created_at: string;
  last_message_at: string | null;
  last_activity_at: string;
  unread_count: number | null;
  my_last_read_at: string | null;
  other_side_last_read_at: string | null;
}

export interface Attachment {
  id: string;
  filename: string;
  content_type: string;
  size: number;
  url: string;
}

export interface Message {
  id: string;
  thread_id: string;
  author_company_id: string;
  author_user_id: string | null;
  body: string;
  attachments: Attachment[];
  created_at: string;
}

export interface Review {
  id: string;
  supplier_id: string;
  rating: number;
  comment: string;
  buyer_country: string;
  created_at: string;
}

/** What the supplier dashboard reads of an RFQ it may quote on. */
export interface RfqSummary {
  id: string;
  buyer_name: string;
  title: string;
  deadline: string;
  status: string;
}
