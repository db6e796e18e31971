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
