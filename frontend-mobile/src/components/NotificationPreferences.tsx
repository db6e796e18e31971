/** Per event type, whether the user is told in the app, by e-mail and by SMS. The
 * switches are a draft until saved, so a failed save keeps them as set. */

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Switch, Text, View } from 'react-native';

import { api } from '../api';
import type { NotificationPreference } from '../api/types';
import { useSession } from '../stores/session';
import { changedPreferences, type Channel, CHANNELS } from './preferences';
import { colors, spacing } from './theme';
import { Button, Card, Heading, Notice, Skeleton, styles } from './ui';
import { useProblem } from './useProblem';

export function NotificationPreferences() {
  const { t } = useTranslation();
  const userId = useSession((s) => s.me?.id);
  const queryClient = useQueryClient();
  const key = ['notification-preferences', userId];
  const stored = useQuery({ queryKey: key, queryFn: () => api.get<NotificationPreference[]>('/me/notification-preferences'), enabled: !!userId });
  const [draft, setDraft] = useState<Record<string, Partial<Record<Channel, boolean>>>>({});
  const save = useMutation({
    mutationFn: (preferences: ReturnType<typeof changedPreferences>) =>
      api.request<NotificationPreference[]>('PUT', '/me/notification-preferences', { body: { preferences } }),
    onSuccess: (next) => {
      queryClient.setQueryData(key, next);
      setDraft({});
    },
  });
  const problem = useProblem(save.error);
  const rows = stored.data ?? [];
  const changes = changedPreferences(rows, draft);
  const value = (row: NotificationPreference, channel: Channel): boolean => draft[row.event_type]?.[channel] ?? row[channel];
  return (
    <Card testID="notification-preferences">
      <Heading level={2}>{t('account.notificationPreferences')}</Heading>
      {stored.isPending && userId ? <Skeleton lines={4} /> : null}
      {rows.map((row) => {
        const label = t(`notifications.event.${row.event_type.replace(/\./g, '_')}`, { defaultValue: row.event_type });
        return (
          <View key={row.event_type} style={{ borderTopWidth: 1, borderColor: colors.border, paddingVertical: spacing.sm, gap: spacing.xs }}>
            <Text style={{ color: colors.text, fontWeight: '600' }}>{label}</Text>
            <View style={[styles.row, { columnGap: spacing.xl }]}>
              {CHANNELS.map((channel) => (
                <View key={channel} style={styles.row}>
                  <Switch
                    value={value(row, channel)}
                    onValueChange={(on) => setDraft({ ...draft, [row.event_type]: { ...draft[row.event_type], [channel]: on } })}
                    accessibilityLabel={`${label}: ${t(`account.${channel === 'in_app' ? 'inApp' : channel}`)}`}
                    testID={`pref-${row.event_type}-${channel}`}
                  />
                  <Text style={{ color: colors.text }}>{t(`account.${channel === 'in_app' ? 'inApp' : channel}`)}</Text>
                </View>
              ))}
            </View>
          </View>
        );
      })}
      {rows.length ? (
        <Button label={t('common.save')} onPress={() => save.mutate(changes)} disabled={!changes.length} busy={save.isPending} testID="save-preferences" />
      ) : null}
      {save.isSuccess && !changes.length ? <Notice tone="success">{t('account.saved')}</Notice> : null}
      {problem.message ? <Notice tone="error">{problem.message}</Notice> : null}
    </Card>
  );
}
