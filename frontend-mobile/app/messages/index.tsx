import { useInfiniteQuery } from '@tanstack/react-query';
import { Link } from 'expo-router';
import { useTranslation } from 'react-i18next';
import { FlatList, Pressable, Text, View } from 'react-native';

import { api } from '../../src/api';
import type { Page, Thread } from '../../src/api/types';
import { OfflineNotice } from '../../src/components/OfflineNotice';
import { colors, spacing } from '../../src/components/theme';
import { Heading, Skeleton, styles } from '../../src/components/ui';
import { useCompany } from '../../src/components/useCompany';
import { formatDateTime } from '../../src/i18n/format';
import { useSession } from '../../src/stores/session';

function ThreadRow({ thread }: { thread: Thread }) {
  const { t, i18n } = useTranslation();
  const companyId = useSession((s) => s.companyId);
  const otherId = thread.buyer_id === companyId ? thread.supplier_id : thread.buyer_id;
  const other = useCompany(otherId);
  const unread = thread.unread_count ?? 0;
  return (
    <Link href={`/messages/${thread.id}` as never} asChild>
      <Pressable
        accessibilityRole="link"
        testID="thread-row"
        style={{ backgroundColor: colors.surface, borderWidth: 1, borderColor: unread ? colors.primary : colors.border, borderRadius: 8, padding: spacing.md, gap: 2 }}
      >
        <View style={{ flexDirection: 'row', justifyContent: 'space-between', gap: spacing.sm, flexWrap: 'wrap' }}>
          <Text style={{ fontWeight: '700', color: colors.text }}>{other.data?.name ?? t('messages.otherCompany')}</Text>
          {unread ? (
            <Text style={{ color: colors.primaryText, backgroundColor: colors.primary, borderRadius: 10, paddingHorizontal: spacing.sm, fontWeight: '700' }} testID="thread-unread">
              {t('messages.unread', { count: unread })}
            </Text>
          ) : null}
        </View>
        <Text style={{ color: colors.text }}>{t(`messages.subject.${thread.subject_type}`)}</Text>
        <Text style={styles.muted}>{formatDateTime(thread.last_activity_at, i18n.language)}</Text>
      </Pressable>
    </Link>
  );
}

export default function Threads() {
  const { t } = useTranslation();
  const session = useSession();
  const threads = useInfiniteQuery({
    queryKey: ['threads', session.companyId],
    queryFn: ({ pageParam }) => api.get<Page<Thread>>('/threads', { query: { limit: 20, cursor: pageParam } }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    enabled: session.status === 'signed-in',
  });
  const items = threads.data?.pages.flatMap((page) => page.items) ?? [];
  return (
    <FlatList
      data={items}
      keyExtractor={(thread) => thread.id}
      contentContainerStyle={{ padding: spacing.lg, gap: spacing.sm }}
      onEndReached={() => {
        if (threads.hasNextPage && !threads.isFetchingNextPage) void threads.fetchNextPage();
      }}
      ListHeaderComponent={
        <View style={{ gap: spacing.sm }}>
          <Heading>{t('messages.title')}</Heading>
          <OfflineNotice error={threads.error} updatedAt={threads.dataUpdatedAt} hasData={!!threads.data} />
          {threads.isPending && session.status === 'signed-in' ? <Skeleton lines={5} /> : null}
          {threads.isSuccess && items.length === 0 ? <Text style={styles.muted}>{t('messages.empty')}</Text> : null}
        </View>
      }
      renderItem={({ item }) => <ThreadRow thread={item} />}
      ListFooterComponent={threads.isFetchingNextPage ? <Skeleton lines={2} /> : null}
    />
  );
}
