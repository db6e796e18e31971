/** A phone's download of an attachment or invoice, under the native presets (iOS and
 * Android resolve download.native.ts), against a real local HTTP server playing the API.
 * The platform's transfer (`File.downloadFileAsync`, native code) is replaced by a real
 * HTTP GET that behaves as the native one does: the headers it is given, the file written
 * on 2xx, "response has status N" otherwise. */

import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { nodeFetch } from '../testing/nodeFetch';

const TOKEN = 'fresh-access';
const PDF = '%PDF-1.4 invoice ORD-2026-000042';

interface Seen {
  url: string;
  authorization?: string;
  language?: string;
  company?: string;
}

let server: http.Server;
let seen: Seen[];
let refreshes: number;

beforeAll(async () => {
  server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const url = request.url ?? '';
      if (url === '/api/v1/auth/refresh') {
        refreshes += 1;
        const ok = JSON.parse(body).refresh_token === 'refresh-1';
        response.writeHead(ok ? 200 : 401, { 'Content-Type': 'application/json' });
        response.end(JSON.stringify(ok ? { access_token: TOKEN, refresh_token: 'refresh-2', token_type: 'bearer', expires_in: 60 } : { title: 'Unauthorized', status: 401 }));
        return;
      }
      seen.push({
        url,
        authorization: request.headers.authorization,
        language: request.headers['accept-language'] as string | undefined,
        company: request.headers['x-company-id'] as string | undefined,
      });
      if (request.headers.authorization !== `Bearer ${TOKEN}`) {
        response.writeHead(401, { 'Content-Type': 'application/problem+json' });
        response.end(JSON.stringify({ title: 'Not signed in', status: 401 }));
      } else if (url === '/api/v1/orders/o-1/invoice.pdf') {
        response.writeHead(200, { 'Content-Type': 'application/pdf' });
        response.end(PDF);
      } else {
        response.writeHead(404, { 'Content-Type': 'application/problem+json' });
        response.end(JSON.stringify({ type: 'urn:marketplace:problem:not-found', title: 'Die Datei gibt es nicht.', status: 404 }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.env.EXPO_PUBLIC_API_URL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** The native transfer, done for real over HTTP into the preset's in-memory file system. */
function realTransfer(
  url: string,
  to: { uri: string },
  options: { headers?: Record<string, string> },
  fileSystem: { FileSystemFile: new (uri: string) => { write(bytes: Uint8Array): void } },
): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: options.headers }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const status = response.statusCode ?? 0;
          if (status < 200 || status >= 300) {
            reject(new Error(`UnableToDownloadException: response has status ${status}`));
            return;
          }
          new fileSystem.FileSystemFile(to.uri).write(new Uint8Array(Buffer.concat(chunks)));
          resolve(to.uri);
        });
      })
      .on('error', reject);
  });
}

// Loaded after the server is up, so that the app's configuration names it.
function load() {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { downloadFile, safeFilename } = require('./download') as typeof import('./download.native');
  const { useSession } = require('../stores/session') as typeof import('../stores/session');
  const { File } = require('expo-file-system') as typeof import('expo-file-system');
  const { i18n } = require('../i18n') as typeof import('../i18n');
  // The native modules exactly as expo-file-system and expo-sharing hold them.
  // (expo-file-system exports no subpaths: its module sits beside its entry file)
  const fileSystem = require(require.resolve('expo-file-system').replace(/index\.ts$/, 'ExpoFileSystem')).default;
  const sharing = require('expo-sharing/build/SharingNativeModule').default;
  /* eslint-enable @typescript-eslint/no-require-imports */
  fileSystem.downloadFileAsync = jest.fn((url: string, to: { uri: string }, options: { headers?: Record<string, string> }) =>
    realTransfer(url, to, options, fileSystem),
  );
  sharing.isAvailableAsync = jest.fn(async () => true);
  sharing.shareAsync = jest.fn(async () => undefined);
  return { downloadFile, safeFilename, useSession, File, i18n, sharing, fileSystem };
}

let app: ReturnType<typeof load>;

beforeEach(() => {
  seen = [];
  refreshes = 0;
  jest.resetModules();
  globalThis.fetch = nodeFetch as typeof fetch;
  app = load();
});

it('downloads with the bearer token, the company and the language, then opens the share sheet', async () => {
  app.useSession.setState({ mode: 'token', status: 'signed-in', accessToken: TOKEN, refreshToken: 'refresh-1', companyId: 'c-1' });
  await app.i18n.changeLanguage('de');

  await app.downloadFile('/api/v1/orders/o-1/invoice.pdf', 'ORD-2026-000042.pdf');

  expect(seen).toEqual([{ url: '/api/v1/orders/o-1/invoice.pdf', authorization: `Bearer ${TOKEN}`, language: 'de', company: 'c-1' }]);
  const [uri, options] = app.sharing.shareAsync.mock.calls[0];
  expect(uri).toMatch(/\/ORD-2026-000042\.pdf$/);
  expect(options).toMatchObject({ dialogTitle: 'ORD-2026-000042.pdf' });
  expect(new app.File(uri).textSync()).toBe(PDF);
});

it('refreshes an expired token once and downloads again', async () => {
  app.useSession.setState({ mode: 'token', status: 'signed-in', accessToken: 'expired', refreshToken: 'refresh-1', companyId: 'c-1' });

  await app.downloadFile('http://elsewhere.example/api/v1/orders/o-1/invoice.pdf', 'ORD-2026-000042.pdf');

  expect(seen.map((s) => s.authorization)).toEqual(['Bearer expired', `Bearer ${TOKEN}`]);
  expect(refreshes).toBe(1);
  expect(app.useSession.getState().accessToken).toBe(TOKEN);
  expect(app.sharing.shareAsync).toHaveBeenCalledTimes(1);
});

it("a refused download becomes the API's own translated problem, and nothing is shared", async () => {
  app.useSession.setState({ mode: 'token', status: 'signed-in', accessToken: TOKEN, refreshToken: 'refresh-1', companyId: 'c-1' });

  await expect(app.downloadFile('/api/v1/attachments/a-9', 'plan.pdf')).rejects.toMatchObject({ kind: 'http', status: 404, message: 'Die Datei gibt es nicht.' });
  expect(app.sharing.shareAsync).not.toHaveBeenCalled();
});

it('a refresh that fails signs the user out instead of retrying', async () => {
  app.useSession.setState({ mode: 'token', status: 'signed-in', accessToken: 'expired', refreshToken: 'revoked', companyId: 'c-1' });

  await expect(app.downloadFile('/api/v1/orders/o-1/invoice.pdf', 'x.pdf')).rejects.toBeTruthy();
  expect(refreshes).toBe(1);
  expect(app.useSession.getState().status).toBe('signed-out');
  expect(app.sharing.shareAsync).not.toHaveBeenCalled();
});

it('keeps a file name inside the cache folder', () => {
  expect(app.safeFilename('../../etc/passwd')).toBe('_.._etc_passwd');
  expect(app.safeFilename('Rechnung ORD-1.pdf')).toBe('Rechnung ORD-1.pdf');
  expect(app.safeFilename('...')).toBe('download');
});
