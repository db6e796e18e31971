/** The live-updates socket against a real local HTTP and WebSocket server playing the
 * API: every platform asks for a single-use ticket with its session and opens the socket
 * with the ticket alone; no token reaches the socket's URL or handshake. */

import http from 'node:http';
import type { AddressInfo } from 'node:net';

import WebSocket, { WebSocketServer } from 'ws';

import { ApiClient, type AuthAdapter } from './client';
import { openLiveSocket } from './liveSocket';

interface Upgrade {
  url: string;
  headers: http.IncomingHttpHeaders;
}

const FRESH = 'fresh-access-token';
const STALE = 'stale-access-token';

let server: http.Server;
let sockets: WebSocketServer;
let baseUrl: string;
let ticketRequests: http.IncomingHttpHeaders[];
let upgrades: Upgrade[];
let issued: number;

beforeEach(async () => {
  ticketRequests = [];
  upgrades = [];
  issued = 0;
  sockets = new WebSocketServer({ noServer: true });
  server = http.createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      if (request.method === 'POST' && request.url === '/api/v1/ws/ticket') {
        ticketRequests.push(request.headers);
        const bearer = request.headers.authorization;
        const cookieSession = !bearer && request.headers['x-csrf-token'] === 'csrf-1';
        if (bearer !== `Bearer ${FRESH}` && !cookieSession) {
          response.writeHead(401, { 'Content-Type': 'application/problem+json' });
          response.end(JSON.stringify({ title: 'Unauthorized', status: 401 }));
          return;
        }
        issued += 1;
        response.writeHead(200, { 'Content-Type': 'application/json' });
        response.end(JSON.stringify({ ticket: `ticket/${issued}`, expires_in: 30 }));
        return;
      }
      response.writeHead(404);
      response.end();
    });
  });
  server.on('upgrade', (request, socket, head) => {
    upgrades.push({ url: request.url ?? '', headers: request.headers });
    sockets.handleUpgrade(request, socket, head, (ws) => ws.send(JSON.stringify({ type: 'ping' })));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  for (const client of sockets.clients) client.terminate();
  sockets.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function client(auth: Partial<AuthAdapter>): ApiClient {
  return new ApiClient({
    baseUrl,
    prefix: '/api/v1',
    auth: {
      accessToken: () => null,
      csrfToken: () => null,
      refresh: async () => false,
      signedOut: () => undefined,
      ...auth,
    },
    language: () => 'en',
    companyId: () => null,
    sleep: async () => undefined,
  });
}

async function firstMessage(socket: globalThis.WebSocket): Promise<unknown> {
  return new Promise((resolve, reject) => {
    socket.onmessage = (frame) => resolve(JSON.parse(String(frame.data)));
    socket.onerror = () => reject(new Error('socket failed'));
  });
}

const Socket = WebSocket as unknown as new (url: string) => globalThis.WebSocket;

function everythingSent(): string {
  return JSON.stringify(upgrades);
}

test('a phone asks for a ticket with its bearer token and opens the socket with the ticket only', async () => {
  const socket = await openLiveSocket(client({ accessToken: () => FRESH }), `${baseUrl.replace('http', 'ws')}/api/v1/ws`, Socket);
  expect(await firstMessage(socket)).toEqual({ type: 'ping' });
  socket.close();

  expect(ticketRequests.map((headers) => headers.authorization)).toEqual([`Bearer ${FRESH}`]);
  expect(upgrades.map((upgrade) => upgrade.url)).toEqual(['/api/v1/ws?ticket=ticket%2F1']);
  expect(upgrades[0].headers['sec-websocket-protocol']).toBeUndefined();
  expect(upgrades[0].headers.authorization).toBeUndefined();
  expect(everythingSent()).not.toContain(FRESH);
  expect(everythingSent()).not.toContain('access_token');
});

test('an expired token is refreshed before the ticket, never sent to the socket', async () => {
  let token = STALE;
  const api = client({
    accessToken: () => token,
    refresh: async () => {
      token = FRESH;
      return true;
    },
  });
  const socket = await openLiveSocket(api, `${baseUrl.replace('http', 'ws')}/api/v1/ws`, Socket);
  expect(await firstMessage(socket)).toEqual({ type: 'ping' });
  socket.close();

  expect(ticketRequests.map((headers) => headers.authorization)).toEqual([`Bearer ${STALE}`, `Bearer ${FRESH}`]);
  expect(upgrades.map((upgrade) => upgrade.url)).toEqual(['/api/v1/ws?ticket=ticket%2F1']);
  expect(everythingSent()).not.toContain(STALE);
  expect(everythingSent()).not.toContain(FRESH);
});

test('the web asks for a ticket with its cookie session and CSRF token', async () => {
  const socket = await openLiveSocket(client({ csrfToken: () => 'csrf-1' }), `${baseUrl.replace('http', 'ws')}/api/v1/ws`, Socket);
  expect(await firstMessage(socket)).toEqual({ type: 'ping' });
  socket.close();

  expect(ticketRequests.map((headers) => [headers.authorization, headers['x-csrf-token']])).toEqual([[undefined, 'csrf-1']]);
  expect(upgrades.map((upgrade) => upgrade.url)).toEqual(['/api/v1/ws?ticket=ticket%2F1']);
});

test('without a ticket no socket is opened', async () => {
  await expect(openLiveSocket(client({ accessToken: () => 'revoked' }), `${baseUrl.replace('http', 'ws')}/api/v1/ws`, Socket)).rejects.toMatchObject({ status: 401 });
  expect(upgrades).toEqual([]);
});
