/** The connection banner's state: whether requests are failing, when the next try is, and
 * what `/health` last said about the backend. */

import { create } from 'zustand';

import type { ConnectionObserver } from '../api/client';

export type BackendStatus = 'unknown' | 'ok' | 'degraded' | 'down';

export interface ConnectionState {
  /** Requests are failing (network, timeout, 502-504) or the device is offline. */
  isLost: boolean;
  deviceOffline: boolean;
  nextRetryAt: number | null;
  backend: BackendStatus;
  lost(retryInMs: number | null): void;
  restored(): void;
  setDeviceOffline(offline: boolean): void;
  setBackend(status: BackendStatus): void;
}

export const useConnection = create<ConnectionState>()((set) => ({
  isLost: false,
  deviceOffline: false,
  nextRetryAt: null,
  backend: 'unknown',
  lost(retryInMs) {
    set({ isLost: true, nextRetryAt: retryInMs === null ? null : Date.now() + retryInMs });
  },
  restored() {
    set({ isLost: false, nextRetryAt: null });
  },
  setDeviceOffline(offline) {
    set({ deviceOffline: offline });
  },
  setBackend(status) {
    set({ backend: status });
  },
}));

export const connectionObserver: ConnectionObserver = {
  requestFailed(_kind, retryInMs) {
    useConnection.getState().lost(retryInMs);
  },
  requestSucceeded() {
    if (useConnection.getState().isLost) useConnection.getState().restored();
  },
};
