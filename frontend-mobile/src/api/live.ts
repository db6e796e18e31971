/** Live updates over `/api/v1/ws`: order status, messages and notifications arrive as they
 * happen and refresh what is on screen. Reconnects with backoff and resumes after the last
 * event seen, so nothing is missed while the connection was down. */

import { useEffect } from 'react';

import { config } from '../config';
import { useSession } from '../stores/session';
import { backoffDelay } from './client';
import { api } from './index';
import { openLiveSocket } from './liveSocket';
import { queryClient } from './query';

interface ServerMessage {
  type: string;
  data?: { id?: string; type?: string; aggregate_id?: string } & Record<string, unknown>;
}

export function liveUrl(apiUrl: string, prefix: string, location?: { protocol: string; host: string }): string {
  const base = apiUrl || (location ? `${location.protocol}//${location.host}` : '');
  return `${base.replace(/^http/, 'ws')}${prefix}/ws`;
}

/** Which cached reads an event makes stale. */
export function staleQueriesFor(eventType: string): string[][] {
  if (eventType.startsWith('order.')) return [['orders'], ['order'], ['approvals'], ['dashboard']];
  if (eventType.startsWith('message.')) return [['threads'], ['thread']];
  if (eventType.startsWith('rfq.') || eventType.startsWith('quote.')) return [['rfqs'], ['rfq'], ['dashboard']];
  if (eventType.startsWith('product.')) return [['product'], ['search']];
  return [];
}

export function useLiveUpdates(): void {
  const status = useSession((s) => s.status);
  const companyId = useSession((s) => s.companyId);
  useEffect(() => {
    if (status !== 'signed-in') return;
    let socket: WebSocket | null = null;
    let attempt = 0;
    let lastSeen: string | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let closed = false;
    const location = (globalThis as { location?: { protocol: string; host: string } }).location;

    const retry = (): void => {
      if (closed) return;
      timer = setTimeout(() => void connect(), backoffDelay(Math.min(attempt, 5)));
      attempt += 1;
    };

    const connect = async (): Promise<void> => {
      const url = liveUrl(config.apiUrl, config.apiPrefix, location);
      try {
        socket = await openLiveSocket(api, url);
      } catch {
        retry();
        return;
      }
      if (closed) {
        socket.close();
        return;
      }
      socket.onopen = () => {
        attempt = 0;
        if (lastSeen) socket?.send(JSON.stringify({ type: 'resume', after: lastSeen }));
      };
      socket.onmessage = (frame) => {
        const message = JSON.parse(String(frame.data)) as ServerMessage;
        if (message.type === 'ping') socket?.send(JSON.stringify({ type: 'pong' }));
        if (message.type === 'event' && message.data?.type) {
          if (message.data.id) lastSeen = message.data.id;
          for (const key of staleQueriesFor(message.data.type)) void queryClient.invalidateQueries({ queryKey: key });
        }
        if (message.type === 'notification') {
          void queryClient.invalidateQueries({ queryKey: ['notifications'] });
          // A notification can come before, or instead of, an event about the same change
          // (a supplier told of an order released to it), so what it is about is stale too.
          const about = typeof message.data?.event_type === 'string' ? message.data.event_type : '';
          for (const key of staleQueriesFor(about)) void queryClient.invalidateQueries({ queryKey: key });
        }
        if (message.type === 'resume_failed') void queryClient.invalidateQueries();
      };
      socket.onclose = retry;
    };
    void connect();
    return () => {
      closed = true;
      if (timer) clearTimeout(timer);
      socket?.close();
    };
  }, [status, companyId]);
}
