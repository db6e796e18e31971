/** A failed request as the user should read it: the API's own translated message for
 * problems, our translation for network failures, and the per-field messages for forms. */

import { useTranslation } from 'react-i18next';

import { isApiError } from '../api/problem';

export function useProblem(error: unknown): { message: string | null; fields: Record<string, string> } {
  const { t } = useTranslation();
  if (!error) return { message: null, fields: {} };
  if (!isApiError(error)) return { message: t('errors.unknown'), fields: {} };
  if (error.kind === 'timeout') return { message: t('errors.timeout'), fields: {} };
  if (error.kind === 'network') return { message: t('errors.needsNetwork'), fields: {} };
  return { message: error.message, fields: error.fieldErrors() };
}
