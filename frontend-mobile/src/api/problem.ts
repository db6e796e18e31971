/** Errors the API client raises. A problem response (RFC 9457) keeps its fields; the API
 * already translates `title`, `detail` and field messages by Accept-Language. */

export interface FieldError {
  loc: (string | number)[];
  msg: string;
  type: string;
}

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  instance?: string;
  request_id?: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

export type ApiErrorKind = 'network' | 'timeout' | 'http';

export class ApiError extends Error {
  readonly kind: ApiErrorKind;
  readonly status: number;
  readonly problem: Problem | null;
  readonly retryAfterMs: number | null;

  constructor(kind: ApiErrorKind, status: number, problem: Problem | null, message: string, retryAfterMs: number | null = null) {
    super(message);
    this.name = 'ApiError';
    this.kind = kind;
    this.status = status;
    this.problem = problem;
    this.retryAfterMs = retryAfterMs;
  }

  /** The problem's short type name, e.g. "insufficient-stock" for ".../problems/insufficient-stock". */
  get code(): string | null {
    const type = this.problem?.type;
    if (!type) return null;
    return type.split('/').pop() ?? null;
  }

  /** Field messages keyed by the field's name (the last part of `loc`), for forms. */
  fieldErrors(): Record<string, string> {
    const byField: Record<string, string> = {};
    for (const error of this.problem?.errors ?? []) {
      const field = error.loc.filter((part) => part !== 'body' && part !== 'query').join('.');
      if (field && !(field in byField)) byField[field] = error.msg;
    }
    return byField;
  }
}

export function isApiError(error: unknown): error is ApiError {
  return error instanceof ApiError;
}
