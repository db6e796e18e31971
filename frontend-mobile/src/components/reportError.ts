/** Where the error boundary reports. Without a Sentry DSN errors go to the console only. */

import { config } from '../config';

export type ErrorReporter = (error: Error, context: Record<string, string | undefined>) => void;

let reporter: ErrorReporter | null = null;

/** The Sentry SDK registers itself here at start-up when `EXPO_PUBLIC_SENTRY_DSN` is set. */
export function setErrorReporter(next: ErrorReporter | null): void {
  reporter = next;
}

export function reportError(error: Error, context: Record<string, string | undefined> = {}): void {
  if (config.debug) {
    // eslint-disable-next-line no-console
    console.error('[error boundary]', error, context);
  }
  reporter?.(error, context);
}
