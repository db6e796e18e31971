/** Server data: TanStack Query, persisted to device storage so that what was viewed stays
 * readable offline. Writes are never queued: they need the network and say so. */

import { createAsyncStoragePersister } from '@tanstack/query-async-storage-persister';
import { QueryClient } from '@tanstack/react-query';

import { AsyncStorage } from '../stores/storage';
import { isApiError } from './problem';

export const OFFLINE_MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000;
/** Bumped when cached shapes change, so an old cache is dropped rather than misread. */
export const CACHE_BUSTER = 'v1';

export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // The API client already retries with backoff; the query layer does not add more.
      retry: false,
      staleTime: 30_000,
      gcTime: OFFLINE_MAX_AGE_MS,
      // Cached data first, then the network: offline, the saved copy is shown.
      networkMode: 'offlineFirst',
      refetchOnWindowFocus: false,
    },
    mutations: { retry: false, networkMode: 'always' },
  },
});

export const persister = createAsyncStoragePersister({
  storage: AsyncStorage,
  key: 'mp.query-cache',
  throttleTime: 500,
});

/** Only successful reads are kept; errors and in-flight state are not. */
export function shouldPersist(query: { state: { status: string } }): boolean {
  return query.state.status === 'success';
}

/** A read that failed for lack of a network, while a saved copy is on screen. */
export function isOfflineCopy(error: unknown, hasData: boolean): boolean {
  return hasData && isApiError(error) && error.kind !== 'http';
}
