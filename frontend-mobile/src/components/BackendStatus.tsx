/** `ok`, `degraded` or `down` from `/health`, checked every minute in the background. */

import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import { Text, View } from 'react-native';

import { api } from '../api';
import type { Health } from '../api/types';
import { useConnection } from '../stores/connection';
import { colors } from './theme';

const CHECK_EVERY_MS = 60_000;
const DOT = { ok: colors.success, degraded: colors.warning, down: colors.danger, unknown: colors.muted };

export function BackendStatus() {
  const { t } = useTranslation();
  const backend = useConnection((s) => s.backend);
  const isLost = useConnection((s) => s.isLost);
  useEffect(() => {
    let cancelled = false;
    const check = async (): Promise<void> => {
      try {
        const health = await api.health<Health>('/health', { background: true });
        if (!cancelled) useConnection.getState().setBackend(health.status === 'ok' ? 'ok' : health.status === 'down' ? 'down' : 'degraded');
      } catch (error) {
        // 503 is the API saying it is down; no answer at all says the same from here.
        if (!cancelled) useConnection.getState().setBackend('down');
      }
    };
    void check();
    const timer = setInterval(() => void check(), CHECK_EVERY_MS);
    return () => {
      cancelled = true;
      clearInterval(timer);
    };
  }, [isLost]);
  return (
    <View style={{ flexDirection: 'row', alignItems: 'center', gap: 6 }} testID="backend-status" accessibilityRole="text">
      <View style={{ width: 10, height: 10, borderRadius: 5, backgroundColor: DOT[backend] }} />
      <Text style={{ color: colors.muted, fontSize: 13 }}>{t(`backend.${backend}`)}</Text>
    </View>
  );
}
