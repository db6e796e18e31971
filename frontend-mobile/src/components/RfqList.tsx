/** The buyer's RFQs or the supplier's RFQs to answer, newest first, page by page. */

import { useInfiniteQuery } from '@tanstack/react-query';
import { Link, router } from 'expo-router';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { FlatList, Pressable, Text, View } from 'react-native';

import { api } from '../api';
import type { Rfq } from '../api/rfqTypes';
import type { Page } from '../api/types';
import { OfflineNotice } from './OfflineNotice';
import { StatusBadge } from './RfqParts';
import { colors, spacing } from './theme';
import { Heading, Notice, Skeleton, styles } from './ui';
import { formatDate } from '../i18n/format';
import { useSession } from '../stores/session';

export function RfqList({ role, title, empty, header }: { role: 'buyer' | 'supplier'; title: string; empty: string; header?: ReactNode }) {
  const { t } = useTranslation();
  const session = useSession();
  const rfqs = useInfiniteQuery({
    queryKey: ['rfqs', role, session.companyId],
    queryFn: ({ pageParam }) => api.get<Page<Rfq>>('/rfqs', { query: { role, limit: 20, cursor: pageParam } }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    enabled: session.status === 'signed-in',
    staleTime: 0,
  });
  const items = rfqs.data?.pages.flatMap((p) => p.items) ?? [];
  if (session.status === 'signed-out') {
    return (
      <View style={{ padding: spacing.lg }}>
        <Notice>{t('rfq.signInFirst')}</Notice>
      </View>
    );
  }
  return (
    <FlatList
      data={items}
      keyExtractor={(r) => r.id}
      contentContainerStyle={{ padding: spacing.lg, gap: spacing.sm }}
      onEndReached={() => {
        if (rfqs.hasNextPage && !rfqs.isFetchingNextPage) void rfqs.fetchNextPage();
      }}
      ListHeaderComponent={
        <View style={{ gap: spacing.sm }}>
          <Heading>{title}</Heading>
          {header}
          <OfflineNotice error={rfqs.error} updatedAt={rfqs.dataUpdatedAt} hasData={!!rfqs.data} />
          {rfqs.isError && !rfqs.data ? <Notice tone="error">{rfqs.error.message}</Notice> : null}
          {rfqs.isPending && session.status !== 'unknown' ? <Skeleton lines={4} /> : null}
          {rfqs.isSuccess && items.length === 0 ? <Text style={styles.muted}>{empty}</Text> : null}
        </View>
      }
      renderItem={({ item }) => <RfqRow rfq={item} showBuyer={role === 'supplier'} />}
      ListFooterComponent={rfqs.isFetchingNextPage ? <Skeleton lines={2} /> : null}
    />
  );
}

export function goToNewRfq(productId?: string): void {
  router.push(productId ? { pathname: '/rfqs/new', params: { product: productId } } : '/rfqs/new');
}

/** One RFQ in a list: title, status, who asked, how many items, until when. */
export function RfqRow({ rfq, showBuyer }: { rfq: Rfq; showBuyer: boolean }) {
  const { t, i18n } = useTranslation();
  return (
    <Link href={`/rfqs/${rfq.id}`} asChild>
      <Pressable
        accessibilityRole="link"
        testID="rfq-row"
        style={{ backgroundColor: colors.surface, borderWidth: 1, borderColor: colors.border, borderRadius: 8, padding: spacing.md, gap: spacing.xs }}
      >
        <View style={[styles.row, { justifyContent: 'space-between' }]}>
          <Text style={{ fontWeight: '700', color: colors.text, fontSize: 16, flexShrink: 1 }}>{rfq.title}</Text>
          <StatusBadge status={rfq.status} label={t(`rfq.status.${rfq.status}`)} testID="rfq-status" />
        </View>
        <Text style={{ color: colors.text }}>
          {showBuyer ? `${t('rfq.buyer')}: ${rfq.buyer_name} · ` : ''}
          {t('rfq.itemsCount', { count: rfq.items.length })} · {t('rfq.deadlineOn', { date: formatDate(rfq.deadline, i18n.language) })}
        </Text>
      </Pressable>
    </Link>
  );
}
