/** The one way the app opens the live-updates socket (`/api/v1/ws`). */

import type { ApiClient } from './client';

interface LiveTicket {
  ticket: string;
  expires_in: number;
}

type SocketConstructor = new (url: string) => WebSocket;

/** Opens the live-updates socket on every platform the same way: the API client asks
 * `POST /ws/ticket` with the session it has (the bearer token on phones, the cookie and
 * CSRF token on the web), and the socket's URL carries only that single-use ticket,
 * valid for seconds. No token ever goes into a URL (proxies and servers log URLs) nor
 * into the handshake's headers. */
export async function openLiveSocket(
  client: Pick<ApiClient, 'post'>,
  url: string,
  Socket: SocketConstructor = WebSocket,
): Promise<WebSocket> {
  // Background: a failure is retried by the reconnect loop, not shown in the banner.
  const { ticket } = await client.post<LiveTicket>('/ws/ticket', undefined, { background: true });
  return new Socket(`${url}?ticket=${encodeURIComponent(ticket)}`);
}
