/** "Connection lost, retrying…" with the backoff countdown. While requests fail it probes
 * `/health/live` with growing pauses and hides itself once the API answers. */

import { addNetworkStateListener, getNetworkStateAsync } from 'expo-network';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Text, View } from 'react-native';

import { api } from '../api';
import { backoffDelay } from '../api/client';
import { useConnection } from '../stores/connection';
import { colors, spacing } from './theme';

export function useHealthProbe(): void {
  const isLost = useConnection((s) => s.isLost);
  useEffect(() => {
    if (!isLost) return;
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const probe = async (attempt: number): Promise<void> => {
      try {
        await api.health('/health/live', { background: true });
        if (!cancelled) useConnection.getState().restored();
      } catch {
        if (cancelled) return;
        const delay = backoffDelay(Math.min(attempt, 4));
        useConnection.getState().lost(delay);
        timer = setTimeout(() => void probe(attempt + 1), delay);
      }
    };
    timer = setTimeout(() => void probe(0), 1000);
    return () => {
      cancelled = true;
      if (timer) clearTimeout(timer);
    };
  }, [isLost]);
}

/** The device's own word on connectivity (expo-network; the browser's online events on
 * the web), beside what failing requests say. */
export function useDeviceConnectivity(): void {
  useEffect(() => {
    const apply = (connected: boolean | undefined): void => useConnection.getState().setDeviceOffline(connected === false);
    void getNetworkStateAsync().then((state) => apply(state.isConnected));
    const subscription = addNetworkStateListener((state) => apply(state.isConnected));
    return () => subscription.remove();
  }, []);
}

export function ConnectionBanner() {
  const { t } = useTranslation();
  const { isLost, deviceOffline, nextRetryAt } = useConnection();
  const [now, setNow] = useState(Date.now());
  useHealthProbe();
  useDeviceConnectivity();
  useEffect(() => {
    if (!isLost) return;
    const tick = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(tick);
  }, [isLost]);
  if (!isLost && !deviceOffline) return null;
  const seconds = nextRetryAt ? Math.max(0, Math.ceil((nextRetryAt - now) / 1000)) : null;
  const text = deviceOffline && !isLost ? t('connection.offline') : seconds ? t('connection.retryIn', { seconds }) : t('connection.lost');
  return (
    <View
      accessibilityRole="alert"
      aria-live="polite"
      testID="connection-banner"
      style={{ backgroundColor: colors.warningBackground, padding: spacing.sm, alignItems: 'center' }}
    >
      <Text style={{ color: colors.warning, fontWeight: '600' }}>{text}</Text>
    </View>
  );
}
