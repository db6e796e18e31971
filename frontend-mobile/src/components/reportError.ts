/** Where the error boundary reports. Without a Sentry DSN errors go to the console only. */

import { config } from '../config';

export type ErrorReporter = (error: Error, context: Record<string, string | undefined>) => void;

let reporter: ErrorReporter | null = null;
/** Caught before the SDK finished loading (it loads after the first screen): sent once it has. */
const pending: [Error, Record<string, string | undefined>][] = [];
const MAX_PENDING = 10;

/** The Sentry SDK registers itself here at start-up when `EXPO_PUBLIC_SENTRY_DSN` is set
 * (components/sentry.ts). */
export function setErrorReporter(next: ErrorReporter | null): void {
  reporter = next;
  if (!next) {
    pending.length = 0;
    return;
  }
  for (const [error, context] of pending.splice(0)) next(error, context);
}

export function reportError(error: Error, context: Record<string, string | undefined> = {}): void {
  if (config.debug) {
    // eslint-disable-next-line no-console
    console.error('[error boundary]', error, context);
  }
  if (reporter) reporter(error, context);
  else if (config.sentryDsn && pending.length < MAX_PENDING) pending.push([error, context]);
}
