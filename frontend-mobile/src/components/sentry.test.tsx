/** Error reports under the native presets, to a local HTTP server playing Sentry's ingest
 * endpoint (the DSN names 127.0.0.1): the error the boundary caught arrives, without any
 * token; without a DSN nothing is sent at all. */

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

import { act, render, screen } from '@testing-library/react-native';
import { Text } from 'react-native';

import { nodeFetch } from '../testing/nodeFetch';

jest.setTimeout(60_000);

const TOKEN = 'secret-access-token-1';
const TICKET = 'secret-ticket-1';

let server: http.Server;
let port: number;
let received: { url: string; body: string }[];

beforeAll(async () => {
  server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = request.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString() : raw.toString();
      received.push({ url: request.url ?? '', body });
      response.writeHead(200, { 'Content-Type': 'application/json' });
      response.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

let broken = true;

function Fragile() {
  if (broken) throw new Error(`live updates failed: ws://127.0.0.1/api/v1/ws?ticket=${TICKET} (Bearer ${TOKEN})`);
  return <Text>content</Text>;
}

async function waitFor(check: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!check() && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
}

beforeEach(() => {
  received = [];
  broken = true;
  globalThis.fetch = nodeFetch as typeof fetch;
  jest.spyOn(console, 'error').mockImplementation(() => undefined);
  jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});

afterEach(() => {
  jest.restoreAllMocks();
  app().setErrorReporter(null);
});

/* eslint-disable @typescript-eslint/no-require-imports */
function app() {
  return {
    ...(require('./sentry') as typeof import('./sentry')),
    ...(require('./ErrorBoundary') as typeof import('./ErrorBoundary')),
    ...(require('./reportError') as typeof import('./reportError')),
    api: (require('../api') as typeof import('../api')).api,
    useSession: (require('../stores/session') as typeof import('../stores/session')).useSession,
  };
}
/* eslint-enable @typescript-eslint/no-require-imports */

it('sends nothing, and loads no SDK, without a DSN', async () => {
  let loaded = false;
  jest.doMock('@sentry/react-native', () => {
    loaded = true;
    return {};
  });
  const { startErrorReporting, ErrorBoundary, reportError } = app();
  expect(await startErrorReporting('')).toBe(false);
  await render(<ErrorBoundary><Fragile /></ErrorBoundary>);
  expect(screen.getByTestId('error-boundary')).toBeTruthy();
  reportError(new Error('another one'));
  await new Promise((resolve) => setTimeout(resolve, 1000));
  expect(received).toEqual([]);
  expect(loaded).toBe(false);
  jest.dontMock('@sentry/react-native');
});

it('sends the error the boundary caught to the DSN, without tokens', async () => {
  const { startErrorReporting, ErrorBoundary, api, useSession } = app();
  expect(await startErrorReporting(`http://publickey@127.0.0.1:${port}/42`)).toBe(true);
  // A signed-in phone: its requests carry the token (and leave breadcrumbs).
  useSession.setState({ mode: 'token', status: 'signed-in', accessToken: TOKEN, refreshToken: 'refresh-1', companyId: 'c-1' });
  await api.get('/me', { background: true }).catch(() => undefined);

  await render(<ErrorBoundary><Fragile /></ErrorBoundary>);
  expect(screen.getByTestId('error-boundary')).toBeTruthy();
  await act(async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    await (require('@sentry/react-native') as typeof import('@sentry/react-native')).flush();
  });
  await waitFor(() => received.some((r) => r.url.startsWith('/api/42/envelope/')), 10_000);

  const envelopes = received.filter((r) => r.url.startsWith('/api/42/envelope/'));
  const events = envelopes.flatMap((r) => r.body.split('\n').filter((line) => line.includes('"exception"')));
  expect(events).toHaveLength(1);
  const event = JSON.parse(events[0]);
  expect(event.exception.values[0].value).toMatch(/^live updates failed: ws:\/\/127\.0\.0\.1\/api\/v1\/ws\?ticket=\[redacted\]/);
  expect(event.contexts.react.componentStack).toContain('Fragile');
  // No token anywhere in what was sent: not the error's, not the requests'.
  const everything = received.map((r) => r.body).join('\n');
  expect(everything).not.toContain(TOKEN);
  expect(everything).not.toContain(TICKET);
  expect(everything).not.toContain('refresh-1');
});
