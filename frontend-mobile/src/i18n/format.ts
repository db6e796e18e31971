/** Numbers, money and dates in the user's language. Money arrives as a decimal string with
 * its currency beside it and is never turned into a float for arithmetic, only for display. */

const LOCALES: Record<string, string> = { en: 'en-GB', de: 'de-DE', fr: 'fr-FR', es: 'es-ES' };

export function localeOf(language: string): string {
  return LOCALES[language] ?? language;
}

export function formatMoney(amount: string | number, currency: string, language: string): string {
  const value = typeof amount === 'number' ? amount : Number(amount);
  const digits = typeof amount === 'string' && amount.includes('.') ? Math.min(4, Math.max(2, amount.split('.')[1].length)) : 2;
  return new Intl.NumberFormat(localeOf(language), {
    style: 'currency',
    currency,
    minimumFractionDigits: 2,
    maximumFractionDigits: digits,
  }).format(value);
}

export function formatNumber(value: string | number, language: string): string {
  return new Intl.NumberFormat(localeOf(language)).format(typeof value === 'number' ? value : Number(value));
}

export function formatDate(iso: string, language: string): string {
  return new Intl.DateTimeFormat(localeOf(language), { dateStyle: 'medium' }).format(new Date(iso));
}

export function formatDateTime(iso: string, language: string): string {
  return new Intl.DateTimeFormat(localeOf(language), { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
}

/** "5 minutes ago" for offline copies. */
export function formatAge(timestamp: number, language: string, now: number = Date.now()): string {
  const seconds = Math.round((timestamp - now) / 1000);
  const format = new Intl.RelativeTimeFormat(localeOf(language), { numeric: 'auto' });
  const abs = Math.abs(seconds);
  if (abs < 60) return format.format(seconds, 'second');
  if (abs < 3600) return format.format(Math.round(seconds / 60), 'minute');
  if (abs < 86400) return format.format(Math.round(seconds / 3600), 'hour');
  return format.format(Math.round(seconds / 86400), 'day');
}
