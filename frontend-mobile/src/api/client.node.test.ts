/** The API client against a real local HTTP server that injects faults: dropped
 * connections, slow answers, 429/503 with Retry-After, expired tokens. */

import http from 'node:http';
import type { AddressInfo } from 'node:net';

import {
  API_TIMEOUT_MS,
  ApiClient,
  type AuthAdapter,
  BACKOFF_BASE_MS,
  HEALTH_TIMEOUT_MS,
  MAX_RETRIES,
  backoffDelay,
  newIdempotencyKey,
  parseRetryAfter,
  redact,
} from './client';
import { ApiError } from './problem';

type Step =
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | { drop: true }
  | { delayMs: number; status: number; body?: unknown };

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

class FaultServer {
  private readonly server: http.Server;
  private readonly scripts = new Map<string, Step[]>();
  private readonly handlers = new Map<string, (seen: Seen) => Step>();
  readonly seen: Seen[] = [];
  baseUrl = '';

  constructor() {
    this.server = http.createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      request.on('end', () => {
        const key = `${request.method} ${(request.url ?? '').split('?')[0]}`;
        this.seen.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body });
        const seen = this.seen[this.seen.length - 1];
        const handler = this.handlers.get(key);
        const steps = this.scripts.get(key) ?? [];
        const step = handler
          ? handler(seen)
          : steps.length > 1
            ? steps.shift()!
            : steps[0] ?? { status: 404, body: { title: 'Not Found', status: 404 } };
        if ('drop' in step) {
          request.socket.destroy();
          return;
        }
        const send = (): void => {
          const isProblem = step.status >= 400;
          response.writeHead(step.status, {
            'Content-Type': isProblem ? 'application/problem+json' : 'application/json',
            ...('headers' in step ? step.headers : {}),
          });
          response.end(step.body === undefined ? '' : JSON.stringify(step.body));
        };
        if ('delayMs' in step) setTimeout(send, step.delayMs);
        else send();
      });
    });
  }

  script(key: string, steps: Step[]): void {
    this.scripts.set(key, [...steps]);
  }

  /** Answers by what the request carries, e.g. 401 until the token is fresh. */
  handle(key: string, handler: (seen: Seen) => Step): void {
    this.handlers.set(key, handler);
  }

  calls(key: string): Seen[] {
    return this.seen.filter((s) => `${s.method} ${s.url.split('?')[0]}` === key);
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

let server: FaultServer;
let sleeps: number[];
let accessToken: string | null;
let refreshCalls: number;
let signedOut: number;

function tokenAuth(overrides: Partial<AuthAdapter> = {}): AuthAdapter {
  return {
    accessToken: () => accessToken,
    csrfToken: () => null,
    refresh: async () => {
      refreshCalls += 1;
      await new Promise((resolve) => setTimeout(resolve, 30));
      accessToken = 'fresh';
      return true;
    },
    signedOut: () => {
      signedOut += 1;
    },
    ...overrides,
  };
}

function makeClient(overrides: Partial<ConstructorParameters<typeof ApiClient>[0]> = {}): ApiClient {
  return new ApiClient({
    baseUrl: server.baseUrl,
    prefix: '/api/v1',
    auth: tokenAuth(),
    language: () => 'de',
    companyId: () => 'company-1',
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    ...overrides,
  });
}

beforeEach(async () => {
  server = new FaultServer();
  await server.start();
  sleeps = [];
  accessToken = 'stale';
  refreshCalls = 0;
  signedOut = 0;
});

afterEach(async () => {
  await server.stop();
});

describe('retries', () => {
  it('retries a GET on 503 at most three times, backing off exponentially', async () => {
    server.script('GET /api/v1/products', [{ status: 503, body: { title: 'Unavailable', status: 503 } }]);
    const client = makeClient();
    await expect(client.get('/products')).rejects.toMatchObject({ status: 503 });
    expect(server.calls('GET /api/v1/products')).toHaveLength(1 + MAX_RETRIES);
    expect(sleeps).toEqual([0, 1, 2].map((attempt) => backoffDelay(attempt, () => 0.5)));
    expect(sleeps[1]).toBeGreaterThan(sleeps[0]);
    expect(sleeps[2]).toBeGreaterThan(sleeps[1]);
  });

  it('succeeds when the service comes back within the retries', async () => {
    server.script('GET /api/v1/products', [
      { status: 502 },
      { drop: true },
      { status: 200, body: { items: [], next_cursor: null } },
    ]);
    const result = await makeClient().get<{ items: unknown[] }>('/products');
    expect(result.items).toEqual([]);
    expect(server.calls('GET /api/v1/products')).toHaveLength(3);
  });

  it('honours Retry-After in seconds on 429', async () => {
    server.script('GET /api/v1/me', [
      { status: 429, headers: { 'Retry-After': '7' }, body: { title: 'Too many', status: 429 } },
      { status: 200, body: { id: 'u1' } },
    ]);
    await makeClient().get('/me');
    expect(sleeps).toEqual([7000]);
  });

  it('gives up at once when Retry-After asks for too long, and reports the wait', async () => {
    server.script('GET /api/v1/me', [{ status: 429, headers: { 'Retry-After': '900' }, body: { title: 'Too many', status: 429 } }]);
    const error = (await makeClient().get('/me').catch((e: unknown) => e)) as ApiError;
    expect(error.status).toBe(429);
    expect(error.retryAfterMs).toBe(900_000);
    expect(server.calls('GET /api/v1/me')).toHaveLength(1);
  });

  it('never retries other 4xx', async () => {
    for (const status of [400, 403, 404, 409, 422]) {
      server.script('GET /api/v1/orders', [{ status, body: { title: 'No', status } }]);
      await expect(makeClient().get('/orders')).rejects.toMatchObject({ status });
    }
    expect(server.calls('GET /api/v1/orders')).toHaveLength(5);
    expect(sleeps).toEqual([]);
  });

  it('does not retry a POST without an idempotency key', async () => {
    server.script('POST /api/v1/checkout', [{ drop: true }]);
    await expect(makeClient().post('/checkout', { po_number: 'PO-1' })).rejects.toMatchObject({ kind: 'network' });
    expect(server.calls('POST /api/v1/checkout')).toHaveLength(1);
  });

  it('retries a POST with the same idempotency key on every attempt', async () => {
    server.script('POST /api/v1/checkout', [{ drop: true }, { status: 504 }, { status: 201, body: { orders: [] } }]);
    const key = newIdempotencyKey();
    await makeClient().post('/checkout', { po_number: 'PO-1' }, { idempotencyKey: key });
    const calls = server.calls('POST /api/v1/checkout');
    expect(calls).toHaveLength(3);
    expect(new Set(calls.map((c) => c.headers['idempotency-key']))).toEqual(new Set([key]));
    expect(calls.every((c) => c.body === JSON.stringify({ po_number: 'PO-1' }))).toBe(true);
  });

  it('generates distinct version-4 keys', () => {
    const keys = new Set(Array.from({ length: 100 }, () => newIdempotencyKey()));
    expect(keys.size).toBe(100);
    for (const key of keys) expect(key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('timeouts', () => {
  it('uses 15 s for API calls and 8 s for health checks', () => {
    expect(API_TIMEOUT_MS).toBe(15_000);
    expect(HEALTH_TIMEOUT_MS).toBe(8_000);
  });

  it('times out a slow answer and retries it', async () => {
    server.script('GET /api/v1/categories', [
      { delayMs: 300, status: 200, body: ['late'] },
      { status: 200, body: ['on time'] },
    ]);
    const result = await makeClient().get<string[]>('/categories', { timeoutMs: 100 });
    expect(result).toEqual(['on time']);
    expect(sleeps).toHaveLength(1);
  });

  it('reports a timeout as its own kind when retries run out', async () => {
    server.script('GET /health/live', [{ delayMs: 300, status: 200, body: { status: 'ok' } }]);
    const error = (await makeClient()
      .health('/health/live', { timeoutMs: 50 })
      .catch((e: unknown) => e)) as ApiError;
    expect(error.kind).toBe('timeout');
    expect(server.calls('GET /health/live')).toHaveLength(1 + MAX_RETRIES);
  });
});

describe('token refresh', () => {
  it('refreshes once for many concurrent 401s and replays each request', async () => {
    server.handle('GET /api/v1/me', (seen) =>
      seen.headers.authorization === 'Bearer fresh'
        ? { status: 200, body: { ok: true } }
        : { status: 401, body: { title: 'Expired', status: 401 } },
    );
    const client = makeClient();
    const results = await Promise.all(Array.from({ length: 5 }, () => client.get<{ ok: boolean }>('/me')));
    expect(results).toEqual(Array(5).fill({ ok: true }));
    expect(refreshCalls).toBe(1);
    const replayed = server.calls('GET /api/v1/me').filter((c) => c.headers.authorization === 'Bearer fresh');
    expect(replayed).toHaveLength(5);
  });

  it('signs out when the refresh fails, and does not loop', async () => {
    server.script('GET /api/v1/me', [{ status: 401, body: { title: 'Expired', status: 401 } }]);
    const client = makeClient({ auth: tokenAuth({ refresh: async () => false }) });
    await expect(client.get('/me')).rejects.toMatchObject({ status: 401 });
    expect(signedOut).toBe(1);
    expect(server.calls('GET /api/v1/me')).toHaveLength(1);
  });

  it('sends the acting company, the language and the token', async () => {
    server.script('GET /api/v1/cart', [{ status: 200, body: {} }]);
    await makeClient().get('/cart');
    const [call] = server.calls('GET /api/v1/cart');
    expect(call.headers['x-company-id']).toBe('company-1');
    expect(call.headers['accept-language']).toBe('de');
    expect(call.headers.authorization).toBe('Bearer stale');
  });

  it('sends the CSRF token on unsafe requests in cookie mode only', async () => {
    server.script('POST /api/v1/cart/lines', [{ status: 201, body: {} }]);
    server.script('GET /api/v1/cart', [{ status: 200, body: {} }]);
    const client = makeClient({ auth: tokenAuth({ accessToken: () => null, csrfToken: () => 'csrf-1' }) });
    await client.post('/cart/lines', { product_id: 'p', quantity: 1 });
    await client.get('/cart');
    expect(server.calls('POST /api/v1/cart/lines')[0].headers['x-csrf-token']).toBe('csrf-1');
    expect(server.calls('GET /api/v1/cart')[0].headers['x-csrf-token']).toBeUndefined();
    expect(server.calls('GET /api/v1/cart')[0].headers.authorization).toBeUndefined();
  });
});

describe('problems and the connection banner', () => {
  it('turns a problem response into an ApiError with field errors', async () => {
    server.script('POST /api/v1/checkout', [
      {
        status: 422,
        body: {
          type: 'https://example.test/problems/validation-failed',
          title: 'Ungültige Eingabe',
          status: 422,
          detail: 'Die Anfrage ist ungültig.',
          errors: [{ loc: ['body', 'shipping_address', 'postal_code'], msg: 'Pflichtfeld', type: 'missing' }],
        },
      },
    ]);
    const error = (await makeClient().post('/checkout', {}).catch((e: unknown) => e)) as ApiError;
    expect(error.code).toBe('validation-failed');
    expect(error.message).toBe('Die Anfrage ist ungültig.');
    expect(error.fieldErrors()).toEqual({ 'shipping_address.postal_code': 'Pflichtfeld' });
  });

  it('tells the banner about failures with the countdown, and about recovery', async () => {
    const events: string[] = [];
    const connection = {
      requestFailed: (kind: string, retryIn: number | null) => events.push(`failed:${kind}:${retryIn}`),
      requestSucceeded: () => events.push('ok'),
    };
    server.script('GET /api/v1/products', [{ drop: true }, { status: 200, body: [] }]);
    await makeClient({ connection }).get('/products');
    expect(events).toEqual([`failed:network:${backoffDelay(0, () => 0.5)}`, 'ok']);
  });

  it('keeps background requests away from the banner', async () => {
    const events: string[] = [];
    const connection = { requestFailed: () => events.push('failed'), requestSucceeded: () => events.push('ok') };
    server.script('GET /api/v1/notifications', [{ drop: true }, { status: 200, body: [] }]);
    await makeClient({ connection }).get('/notifications', { background: true });
    expect(events).toEqual([]);
  });

  it('logs in debug builds only, never with tokens or codes', async () => {
    const lines: string[] = [];
    server.script('POST /api/v1/auth/otp/verify', [{ status: 200, body: { access_token: 'secret-token' } }]);
    await makeClient({ debug: true, log: (l) => lines.push(l) }).post(
      '/auth/otp/verify',
      { challenge_id: 'c', code: '123456' },
      { anonymous: true },
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('POST /auth/otp/verify');
    expect(lines[0]).not.toContain('123456');
    expect(lines[0]).not.toContain('secret-token');

    const quiet: string[] = [];
    await makeClient({ log: (l) => quiet.push(l) }).get('/me').catch(() => undefined);
    expect(quiet).toEqual([]);
  });
});

describe('helpers', () => {
  it('parses Retry-After as seconds or a date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter('soon')).toBeNull();
    expect(parseRetryAfter(null)).toBeNull();
  });

  it('grows the backoff exponentially up to its cap, with jitter', () => {
    expect(backoffDelay(0, () => 0)).toBe(BACKOFF_BASE_MS / 2);
    expect(backoffDelay(0, () => 1)).toBe(BACKOFF_BASE_MS);
    expect(backoffDelay(1, () => 1)).toBe(BACKOFF_BASE_MS * 2);
    expect(backoffDelay(2, () => 1)).toBe(BACKOFF_BASE_MS * 4);
    expect(backoffDelay(30, () => 1)).toBe(10_000);
  });

  it('redacts credentials at any depth', () => {
    expect(redact({ code: '1', nested: { refresh_token: 'x', name: 'n' }, list: [{ csrf_token: 'y' }] })).toEqual({
      code: '[redacted]',
      nested: { refresh_token: '[redacted]', name: 'n' },
      list: [{ csrf_token: '[redacted]' }],
    });
  });
});
