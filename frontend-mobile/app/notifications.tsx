import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { router } from 'expo-router';
import { useTranslation } from 'react-i18next';
import { FlatList, Text, View } from 'react-native';

import { api } from '../src/api';
import type { AppNotification, Page } from '../src/api/types';
import { appLink } from '../src/components/links';
import { OfflineNotice } from '../src/components/OfflineNotice';
import { colors, spacing } from '../src/components/theme';
import { Button, Card, Heading, Notice, Skeleton, styles } from '../src/components/ui';
import { useProblem } from '../src/components/useProblem';
import { formatDateTime } from '../src/i18n/format';
import { useSession } from '../src/stores/session';

export default function Notifications() {
  const { t, i18n } = useTranslation();
  const userId = useSession((s) => s.me?.id);
  const queryClient = useQueryClient();
  const list = useInfiniteQuery({
    queryKey: ['notifications', userId, 'list'],
    queryFn: ({ pageParam }) => api.get<Page<AppNotification>>('/notifications', { query: { limit: 20, cursor: pageParam } }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    enabled: !!userId,
  });
  const refresh = (): void => void queryClient.invalidateQueries({ queryKey: ['notifications'] });
  const markRead = useMutation({
    mutationFn: (id: string) => api.post<AppNotification>(`/notifications/${id}/read`),
    onSuccess: refresh,
  });
  const markAll = useMutation({ mutationFn: () => api.post('/notifications/read-all'), onSuccess: refresh });
  const problem = useProblem(markRead.error ?? markAll.error);
  const items = list.data?.pages.flatMap((page) => page.items) ?? [];
  const anyUnread = items.some((n) => !n.read_at);

  const open = (note: AppNotification): void => {
    const target = appLink(note.link);
    if (!note.read_at) markRead.mutate(note.id);
    if (target) router.push(target as never);
  };

  return (
    <FlatList
      data={items}
      keyExtractor={(n) => n.id}
      contentContainerStyle={{ padding: spacing.lg, gap: spacing.sm }}
      onEndReached={() => {
        if (list.hasNextPage && !list.isFetchingNextPage) void list.fetchNextPage();
      }}
      ListHeaderComponent={
        <View style={{ gap: spacing.sm }}>
          <Heading>{t('notifications.title')}</Heading>
          <OfflineNotice error={list.error} updatedAt={list.dataUpdatedAt} hasData={!!list.data} />
          {anyUnread ? (
            <View style={styles.row}>
              <Button variant="secondary" label={t('notifications.markAllRead')} onPress={() => markAll.mutate()} busy={markAll.isPending} testID="mark-all-read" />
            </View>
          ) : null}
          {problem.message ? <Notice tone="error">{problem.message}</Notice> : null}
          {list.isPending && userId ? <Skeleton lines={5} /> : null}
          {list.isSuccess && items.length === 0 ? <Text style={styles.muted}>{t('notifications.empty')}</Text> : null}
        </View>
      }
      renderItem={({ item }) => {
        const unread = !item.read_at;
        const target = appLink(item.link);
        return (
          <Card testID="notification">
            <View style={{ flexDirection: 'row', gap: spacing.sm, alignItems: 'center' }}>
              {unread ? <View accessibilityLabel={t('notifications.unread')} role="img" style={{ width: 10, height: 10, borderRadius: 5, backgroundColor: colors.primary }} /> : null}
              <Text style={{ color: colors.text, fontWeight: unread ? '700' : '400', flexShrink: 1 }} testID="notification-title">
                {item.title}
              </Text>
            </View>
            {item.body ? <Text style={{ color: colors.text }}>{item.body}</Text> : null}
            <Text style={styles.muted}>{formatDateTime(item.created_at, i18n.language)}</Text>
            <View style={styles.row}>
              {target ? <Button variant="secondary" label={t('notifications.open')} onPress={() => open(item)} /> : null}
              {unread ? (
                <Button
                  variant="secondary"
                  label={t('notifications.markRead')}
                  onPress={() => markRead.mutate(item.id)}
                  busy={markRead.isPending && markRead.variables === item.id}
                  testID="mark-read"
                />
              ) : null}
            </View>
          </Card>
        );
      }}
      ListFooterComponent={list.isFetchingNextPage ? <Skeleton lines={2} /> : null}
    />
  );
}
