/** The app's one API client instance, wired to the session and connection stores. */

import { config } from '../config';
import { i18n } from '../i18n';
import { connectionObserver } from '../stores/connection';
import { useSession } from '../stores/session';
import { ApiClient } from './client';
import type { BrowserSession, Me, OtpChallenge, TokenPair } from './types';

/** Refreshes the token pair once; a used or revoked refresh token means signing in again. */
async function refreshTokens(): Promise<boolean> {
  const { mode, refreshToken, setTokens } = useSession.getState();
  if (mode !== 'token' || !refreshToken) return false;
  try {
    const pair = await api.post<TokenPair>('/auth/refresh', { refresh_token: refreshToken }, { anonymous: true });
    await setTokens(pair);
    return true;
  } catch {
    return false;
  }
}

function currentPath(): string | null {
  const location = (globalThis as { location?: { pathname: string; search: string } }).location;
  return location ? `${location.pathname}${location.search}` : null;
}

export const api = new ApiClient({
  baseUrl: config.apiUrl,
  prefix: config.apiPrefix,
  auth: {
    accessToken: () => useSession.getState().accessToken,
    csrfToken: () => useSession.getState().csrfToken,
    refresh: refreshTokens,
    signedOut: () => {
      void useSession.getState().signedOut(currentPath());
    },
  },
  language: () => i18n.language,
  companyId: () => useSession.getState().companyId,
  connection: connectionObserver,
  debug: config.debug,
});

export async function requestCode(identifier: string): Promise<OtpChallenge> {
  const body = identifier.includes('@') ? { email: identifier.trim() } : { phone: identifier.replace(/\s+/g, '') };
  return api.post<OtpChallenge>('/auth/otp/request', body, { anonymous: true });
}

export async function verifyCode(challengeId: string, code: string): Promise<Me> {
  const session = useSession.getState();
  if (session.mode === 'cookie') {
    const browser = await api.post<BrowserSession>(
      '/auth/otp/verify',
      { challenge_id: challengeId, code, mode: 'cookie' },
      { anonymous: true },
    );
    session.setBrowserSession(browser.csrf_token);
  } else {
    const pair = await api.post<TokenPair>('/auth/otp/verify', { challenge_id: challengeId, code }, { anonymous: true });
    await session.setTokens(pair);
  }
  return loadMe();
}

export async function loadMe(): Promise<Me> {
  const me = await api.get<Me>('/me');
  await useSession.getState().setMe(me);
  return me;
}

/** On start: the web asks whether its cookie is still a session; a phone refreshes its
 * stored refresh token first. Either way the answer is the signed-in user or none. */
export async function resumeSession(): Promise<void> {
  const session = useSession.getState();
  await session.restore();
  const { mode, refreshToken } = useSession.getState();
  if (mode === 'token' && !refreshToken) {
    await session.signedOut();
    return;
  }
  try {
    if (mode === 'token' && !(await refreshTokens())) {
      await session.signedOut();
      return;
    }
    await loadMe();
  } catch {
    if (useSession.getState().status !== 'signed-in') await useSession.getState().signedOut();
  }
}

export async function signOut(): Promise<void> {
  try {
    await api.post('/auth/logout');
  } finally {
    await useSession.getState().signedOut();
  }
}
