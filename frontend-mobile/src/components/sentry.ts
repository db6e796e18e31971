/** Error reports to Sentry when `EXPO_PUBLIC_SENTRY_DSN` is set. The SDK is loaded only
 * then, by a dynamic import (its own chunk on the web, not evaluated on phones without a
 * DSN), after the first screen: without a DSN the app loads and starts exactly as before.
 * Nothing that could sign someone in reaches Sentry: no personal data by default, and
 * every event and breadcrumb is scrubbed of tokens, tickets, codes and cookies. */

import { redact } from '../api/client';
import { config } from '../config';
import { setErrorReporter } from './reportError';

const SECRET_PARAMS = /([?&#](?:ticket|access_token|refresh_token|token|code|csrf_token)=)[^&#\s"']+/gi;
const BEARER = /\b(Bearer|bearer)\s+[A-Za-z0-9._~+/=-]+/g;

/** An event or breadcrumb without credentials: secret-named fields emptied, secret URL
 * parameters and bearer tokens in any text replaced. */
export function scrub<T>(value: T): T {
  const walk = (item: unknown): unknown => {
    if (typeof item === 'string') return item.replace(SECRET_PARAMS, '$1[redacted]').replace(BEARER, '$1 [redacted]');
    if (Array.isArray(item)) return item.map(walk);
    if (item && typeof item === 'object') {
      return Object.fromEntries(Object.entries(redact(item) as Record<string, unknown>).map(([key, entry]) => [key, walk(entry)]));
    }
    return item;
  };
  return walk(value) as T;
}

/** Starts reporting to Sentry when a DSN is configured; true when it did. */
export async function startErrorReporting(dsn: string = config.sentryDsn): Promise<boolean> {
  if (!dsn) return false;
  const Sentry = await import('@sentry/react-native');
  Sentry.init({
    dsn,
    environment: config.isProduction ? 'production' : 'development',
    sendDefaultPii: false,
    tracesSampleRate: 0,
    beforeSend: (event) => scrub(event),
    beforeBreadcrumb: (breadcrumb) => scrub(breadcrumb),
  });
  setErrorReporter((error, context) => {
    Sentry.captureException(error, { contexts: { react: { componentStack: context.componentStack ?? null } } });
  });
  return true;
}
