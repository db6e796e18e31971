import { useInfiniteQuery } from '@tanstack/react-query';
import { Link, useLocalSearchParams } from 'expo-router';
import { useTranslation } from 'react-i18next';
import { FlatList, Pressable, Text, View } from 'react-native';

import { api } from '../../src/api';
import type { Order, Page } from '../../src/api/types';
import { OfflineNotice } from '../../src/components/OfflineNotice';
import { colors, spacing } from '../../src/components/theme';
import { Heading, Notice, Skeleton, styles } from '../../src/components/ui';
import { formatDate, formatMoney } from '../../src/i18n/format';
import { activeMembership, isSupplier, useSession } from '../../src/stores/session';

export default function Orders() {
  const { t, i18n } = useTranslation();
  const { placed } = useLocalSearchParams<{ placed?: string }>();
  const session = useSession();
  const membership = activeMembership(session);
  const orders = useInfiniteQuery({
    queryKey: ['orders', session.companyId],
    queryFn: ({ pageParam }) => api.get<Page<Order>>('/orders', { query: { limit: 20, cursor: pageParam } }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    enabled: session.status === 'signed-in',
  });
  const items = orders.data?.pages.flatMap((p) => p.items) ?? [];
  const selling = isSupplier(membership);
  return (
    <FlatList
      data={items}
      keyExtractor={(o) => o.id}
      contentContainerStyle={{ padding: spacing.lg, gap: spacing.sm }}
      onEndReached={() => {
        if (orders.hasNextPage && !orders.isFetchingNextPage) void orders.fetchNextPage();
      }}
      ListHeaderComponent={
        <View style={{ gap: spacing.sm }}>
          <Heading>{t('orders.title')}</Heading>
          {placed ? <Notice tone="success">{t('checkout.placed', { count: Number(placed) })}</Notice> : null}
          <OfflineNotice error={orders.error} updatedAt={orders.dataUpdatedAt} hasData={!!orders.data} />
          {orders.isPending ? <Skeleton lines={5} /> : null}
          {orders.isSuccess && items.length === 0 ? <Text style={styles.muted}>{t('orders.empty')}</Text> : null}
        </View>
      }
      renderItem={({ item }) => (
        <Link href={`/orders/${item.id}`} asChild>
          <Pressable accessibilityRole="link" testID="order-row" style={{ backgroundColor: colors.surface, borderWidth: 1, borderColor: colors.border, borderRadius: 8, padding: spacing.md, gap: 2 }}>
            <Text style={{ fontWeight: '700', color: colors.text }}>{t('orders.number', { number: item.number })}</Text>
            <Text style={{ color: colors.text }}>
              {selling && item.buyer_id !== session.companyId
                ? `${t('orders.buyer')}: ${item.buyer_name ?? item.buyer_id.slice(0, 8)}`
                : `${t('orders.supplier')}: ${item.supplier_name ?? item.supplier_id.slice(0, 8)}`}
            </Text>
            <Text style={{ color: colors.text }} testID="order-status">
              {t(`status.${item.status}`)} · {formatMoney(item.total, item.currency, i18n.language)} · {formatDate(item.created_at, i18n.language)}
            </Text>
          </Pressable>
        </Link>
      )}
    />
  );
}
