/** Who is signed in, for which company, and the credentials the API client sends.
 *
 * Phones use token pairs: the access token lives in memory only, the refresh token in
 * SecureStore. The web uses the API's browser session: an HttpOnly cookie the page's
 * script never sees, plus a CSRF token (readable by design, double submit). */

import { create } from 'zustand';

import type { Me, Membership, TokenPair } from '../api/types';
import { AsyncStorage, isWeb, secrets } from './storage';

export const REFRESH_TOKEN_KEY = 'mp.refresh_token';
export const COMPANY_KEY = 'mp.company_id';
export const CSRF_COOKIE = 'mp_csrf';

export type SessionStatus = 'unknown' | 'signed-out' | 'signed-in';

export interface SessionState {
  status: SessionStatus;
  mode: 'token' | 'cookie';
  accessToken: string | null;
  refreshToken: string | null;
  csrfToken: string | null;
  me: Me | null;
  companyId: string | null;
  /** Where to go back to after signing in again. */
  returnTo: string | null;
  setTokens(tokens: TokenPair): Promise<void>;
  setBrowserSession(csrfToken: string): void;
  setMe(me: Me): Promise<void>;
  selectCompany(companyId: string): Promise<void>;
  signedOut(returnTo?: string | null): Promise<void>;
  restore(): Promise<void>;
}

export function readCookie(name: string, cookie: string): string | null {
  for (const part of cookie.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return null;
}

function documentCookie(): string {
  const doc = (globalThis as { document?: { cookie?: string } }).document;
  return doc?.cookie ?? '';
}

/** The company to act for: the remembered one if still a membership, else the first. */
export function chooseCompany(me: Me, remembered: string | null): string | null {
  if (remembered && me.companies.some((m) => m.company_id === remembered)) return remembered;
  return me.companies[0]?.company_id ?? null;
}

export const useSession = create<SessionState>()((set, get) => ({
  status: 'unknown',
  mode: isWeb ? 'cookie' : 'token',
  accessToken: null,
  refreshToken: null,
  csrfToken: null,
  me: null,
  companyId: null,
  returnTo: null,

  async setTokens(tokens) {
    set({ accessToken: tokens.access_token, refreshToken: tokens.refresh_token });
    await secrets.set(REFRESH_TOKEN_KEY, tokens.refresh_token);
  },

  setBrowserSession(csrfToken) {
    set({ csrfToken });
  },

  async setMe(me) {
    const remembered = get().companyId ?? (await AsyncStorage.getItem(COMPANY_KEY));
    const companyId = chooseCompany(me, remembered);
    set({ me, companyId, status: 'signed-in' });
    if (companyId) await AsyncStorage.setItem(COMPANY_KEY, companyId);
  },

  async selectCompany(companyId) {
    set({ companyId });
    await AsyncStorage.setItem(COMPANY_KEY, companyId);
  },

  async signedOut(returnTo = null) {
    set({
      status: 'signed-out',
      accessToken: null,
      refreshToken: null,
      csrfToken: null,
      me: null,
      returnTo,
    });
    await secrets.set(REFRESH_TOKEN_KEY, null);
  },

  async restore() {
    const companyId = await AsyncStorage.getItem(COMPANY_KEY);
    if (isWeb) {
      set({ companyId, csrfToken: readCookie(CSRF_COOKIE, documentCookie()) });
      return;
    }
    const refreshToken = await secrets.get(REFRESH_TOKEN_KEY);
    set({ companyId, refreshToken });
  },
}));

export function activeMembership(state: Pick<SessionState, 'me' | 'companyId'>): Membership | null {
  return state.me?.companies.find((m) => m.company_id === state.companyId) ?? null;
}

export function isSupplier(membership: Membership | null): boolean {
  return membership?.company_kind === 'supplier' || membership?.company_kind === 'both';
}

export function isBuyer(membership: Membership | null): boolean {
  return membership?.company_kind === 'buyer' || membership?.company_kind === 'both';
}

export function canApprove(membership: Membership | null): boolean {
  return membership?.role === 'owner' || membership?.role === 'admin';
}
