/** The one API client: timeouts, retries with backoff, single-flight token refresh,
 * idempotency keys, problem details and debug logging. Everything the app asks of the
 * API goes through `ApiClient.request`. */

import { ApiError, type Problem } from './problem';

export const API_TIMEOUT_MS = 15_000;
export const HEALTH_TIMEOUT_MS = 8_000;
export const MAX_RETRIES = 3;
export const BACKOFF_BASE_MS = 500;
export const BACKOFF_CAP_MS = 10_000;
/** A server asking for more than this is not waited for: the error reaches the user. */
export const RETRY_AFTER_CAP_MS = 30_000;

const RETRIED_STATUSES = new Set([429, 502, 503, 504]);
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Methods that mean the same when repeated; POST and PATCH need an idempotency key. */
const SAFE_METHODS = new Set([...READ_METHODS, 'PUT', 'DELETE']);
const REDACTED_KEYS = /token|code|secret|password|authorization|cookie|csrf/i;

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** How the client authenticates: bearer tokens on phones, the session cookie on the web. */
export interface AuthAdapter {
  /** The current access token (token mode), or null. */
  accessToken(): string | null;
  /** The CSRF token echoed on unsafe requests (cookie mode), or null. */
  csrfToken(): string | null;
  /** Gets a new access token; true when the original request may be replayed. */
  refresh(): Promise<boolean>;
  /** Called once when the credentials are gone for good (refresh failed). */
  signedOut(): void;
}

/** What the client tells the connection banner. */
export interface ConnectionObserver {
  requestFailed(kind: 'network' | 'timeout' | 'unavailable', retryInMs: number | null): void;
  requestSucceeded(): void;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | null | undefined | (string | number)[]>;
  body?: unknown;
  /** Multipart or other prepared bodies, sent as they are. */
  rawBody?: FormData | Blob;
  headers?: Record<string, string>;
  /** Generated once per user action (`newIdempotencyKey`) and reused on every retry. */
  idempotencyKey?: string;
  /** Polling and prefetching: failures do not reach the connection banner. */
  background?: boolean;
  timeoutMs?: number;
  /** Skips authentication (sign-in, health). */
  anonymous?: boolean;
  responseType?: 'json' | 'blob' | 'text';
  signal?: AbortSignal;
}

export interface ClientOptions {
  baseUrl: string;
  prefix: string;
  auth: AuthAdapter;
  language: () => string;
  companyId: () => string | null;
  connection?: ConnectionObserver;
  debug?: boolean;
  fetchImpl?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  log?: (line: string) => void;
}

export function newIdempotencyKey(): string {
  const cryptoApi = (globalThis as { crypto?: Crypto }).crypto;
  if (cryptoApi?.randomUUID) return cryptoApi.randomUUID();
  const bytes = new Uint8Array(16);
  if (cryptoApi?.getRandomValues) cryptoApi.getRandomValues(bytes);
  else for (let i = 0; i < 16; i += 1) bytes[i] = Math.floor(Math.random() * 256);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Exponential backoff with "equal jitter": half fixed, half random, so retries spread out
 * but never come back sooner than half the step. */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const step = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
  return Math.round(step / 2 + (random() * step) / 2);
}

/** Retry-After in seconds or as an HTTP date, in milliseconds from now. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - now);
}

/** A copy of a JSON value with credentials and codes replaced, for debug logs. */
export function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      out[key] = REDACTED_KEYS.test(key) ? '[redacted]' : redact(item);
    }
    return out;
  }
  return value;
}

function buildQuery(query: RequestOptions['query']): string {
  if (!query) return '';
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    const values = Array.isArray(value) ? value : [value];
    for (const item of values) parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(item))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

function isRetriable(method: Method, options: RequestOptions): boolean {
  // A POST or PATCH repeated without a key could place an order twice.
  return SAFE_METHODS.has(method) || options.idempotencyKey !== undefined;
}

export class ApiClient {
  private readonly options: Required<Omit<ClientOptions, 'connection'>> & { connection?: ConnectionObserver };
  private refreshing: Promise<boolean> | null = null;

  constructor(options: ClientOptions) {
    this.options = {
      debug: false,
      fetchImpl: (...args) => fetch(...args),
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      random: Math.random,
      // eslint-disable-next-line no-console
      log: (line) => console.log(line),
      ...options,
    };
  }

  url(path: string, query?: RequestOptions['query']): string {
    const full = path.startsWith('/health') ? path : `${this.options.prefix}${path}`;
    return `${this.options.baseUrl}${full}${buildQuery(query)}`;
  }

  get<T>(path: string, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('GET', path, options);
  }

  post<T>(path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('POST', path, { ...options, body });
  }

  patch<T>(path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('PATCH', path, { ...options, body });
  }

  delete<T>(path: string, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('DELETE', path, options);
  }

  /** `/health` or `/health/live`, with the shorter health timeout. */
  health<T>(path: '/health' | '/health/live', options: RequestOptions = {}): Promise<T> {
    return this.request<T>('GET', path, { timeoutMs: HEALTH_TIMEOUT_MS, anonymous: true, ...options });
  }

  async request<T>(method: Method, path: string, options: RequestOptions = {}): Promise<T> {
    const retriable = isRetriable(method, options);
    let refreshed = false;
    for (let attempt = 0; ; attempt += 1) {
      try {
        const sentToken = this.options.auth.accessToken();
        const response = await this.send(method, path, options);
        if (response.status === 401 && !options.anonymous && !refreshed) {
          refreshed = true;
          if (await this.renewAfterUnauthorized(sentToken)) {
            attempt -= 1; // the replay after a refresh is not a retry
            continue;
          }
        }
        if (RETRIED_STATUSES.has(response.status) && retriable && attempt < MAX_RETRIES) {
          const delay = this.retryDelay(response, attempt);
          if (delay !== null) {
            this.report(options, 'unavailable', delay);
            await this.options.sleep(delay);
            continue;
          }
        }
        const result = await this.read<T>(response, options);
        if (!options.background) this.options.connection?.requestSucceeded();
        return result;
      } catch (error) {
        const failure = this.asApiError(error);
        if (failure.kind === 'http') throw failure;
        if (options.signal?.aborted) throw failure;
        if (!retriable || attempt >= MAX_RETRIES) {
          this.report(options, failure.kind === 'timeout' ? 'timeout' : 'network', null);
          throw failure;
        }
        const delay = backoffDelay(attempt, this.options.random);
        this.report(options, failure.kind === 'timeout' ? 'timeout' : 'network', delay);
        await this.options.sleep(delay);
      }
    }
  }

  private retryDelay(response: Response, attempt: number): number | null {
    const retryAfter = parseRetryAfter(response.headers.get('Retry-After'));
    if (retryAfter === null) return backoffDelay(attempt, this.options.random);
    return retryAfter > RETRY_AFTER_CAP_MS ? null : retryAfter;
  }

  private report(options: RequestOptions, kind: 'network' | 'timeout' | 'unavailable', retryIn: number | null): void {
    if (!options.background) this.options.connection?.requestFailed(kind, retryIn);
  }

  private credentials(): Record<string, string> {
    const headers: Record<string, string> = {};
    const token = this.options.auth.accessToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    const companyId = this.options.companyId();
    if (companyId) headers['X-Company-ID'] = companyId;
    return headers;
  }

  /** The headers of an authenticated read, for a transfer the platform makes itself (a
   * phone's file download straight to disk): language, bearer token and company. */
  readHeaders(): Record<string, string> {
    return { 'Accept-Language': this.options.language(), ...this.credentials() };
  }

  /** After such a transfer was answered 401 with `sentToken`: the access token is renewed
   * as for any request (one refresh for all callers). True when the transfer may be sent
   * again; false means signed out. */
  async renewAfterUnauthorized(sentToken: string | null): Promise<boolean> {
    // A 401 for a token that another caller has already replaced needs no refresh.
    const replaced = sentToken !== null && this.options.auth.accessToken() !== sentToken;
    if (replaced || (await this.refreshOnce())) return true;
    this.options.auth.signedOut();
    return false;
  }

  /** Concurrent 401s share one refresh: the first starts it, the rest wait for its answer. */
  private refreshOnce(): Promise<boolean> {
    if (!this.refreshing) {
      this.refreshing = this.options.auth
        .refresh()
        .catch(() => false)
        .finally(() => {
          this.refreshing = null;
        });
    }
    return this.refreshing;
  }

  private async send(method: Method, path: string, options: RequestOptions): Promise<Response> {
    const headers: Record<string, string> = {
      Accept: 'application/json, application/problem+json',
      'Accept-Language': this.options.language(),
      ...options.headers,
    };
    if (options.body !== undefined) headers['Content-Type'] = 'application/json';
    if (options.idempotencyKey) headers['Idempotency-Key'] = options.idempotencyKey;
    if (!options.anonymous) {
      Object.assign(headers, this.credentials());
      const csrf = this.options.auth.csrfToken();
      if (csrf && !READ_METHODS.has(method)) headers['X-CSRF-Token'] = csrf;
    }
    const controller = new AbortController();
    const timeoutMs = options.timeoutMs ?? API_TIMEOUT_MS;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const abort = (): void => controller.abort();
    options.signal?.addEventListener('abort', abort);
    const url = this.url(path, options.query);
    const started = Date.now();
    try {
      const response = await this.options.fetchImpl(url, {
        method,
        headers,
        body: options.rawBody ?? (options.body !== undefined ? JSON.stringify(options.body) : undefined),
        signal: controller.signal,
        credentials: 'include',
      });
      if (this.options.debug) {
        const body = options.body === undefined ? '' : ` ${JSON.stringify(redact(options.body))}`;
        this.options.log(`[api] ${method} ${path}${body} -> ${response.status} in ${Date.now() - started} ms`);
      }
      return response;
    } catch (error) {
      if (this.options.debug) this.options.log(`[api] ${method} ${path} failed: ${timedOut ? 'timeout' : 'network'}`);
      if (timedOut) throw new ApiError('timeout', 0, null, `Timed out after ${timeoutMs} ms`);
      if (options.signal?.aborted) throw new ApiError('network', 0, null, 'Aborted');
      throw new ApiError('network', 0, null, error instanceof Error ? error.message : 'Network error');
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', abort);
    }
  }

  private async read<T>(response: Response, options: RequestOptions): Promise<T> {
    if (response.ok) {
      if (response.status === 204) return undefined as T;
      if (options.responseType === 'blob') return (await response.blob()) as T;
      if (options.responseType === 'text') return (await response.text()) as T;
      const text = await response.text();
      return (text ? JSON.parse(text) : undefined) as T;
    }
    let problem: Problem | null = null;
    try {
      problem = (await response.json()) as Problem;
    } catch {
      problem = null;
    }
    const message = problem?.detail || problem?.title || `HTTP ${response.status}`;
    throw new ApiError('http', response.status, problem, message, parseRetryAfter(response.headers.get('Retry-After')));
  }

  private asApiError(error: unknown): ApiError {
    if (error instanceof ApiError) return error;
    return new ApiError('network', 0, null, error instanceof Error ? error.message : String(error));
  }
}
