import { useQueries, useQuery } from '@tanstack/react-query';
import { Link } from 'expo-router';
import { useTranslation } from 'react-i18next';
import { ScrollView, Text, useWindowDimensions, View } from 'react-native';

import { api } from '../src/api';
import type { Order, Page, RfqSummary } from '../src/api/types';
import { OfflineNotice } from '../src/components/OfflineNotice';
import { WIDE } from '../src/components/Shell';
import { ORDER_QUEUES, QUEUE_PAGE, queueCount, rfqsToAnswer } from '../src/components/supplierDashboard';
import { colors, spacing } from '../src/components/theme';
import { Card, Heading, Notice, Skeleton, styles } from '../src/components/ui';
import { formatDate, formatMoney } from '../src/i18n/format';
import { activeMembership, isSupplier, useSession } from '../src/stores/session';

const SHOWN = 5;

export default function Dashboard() {
  const { t, i18n } = useTranslation();
  const { width } = useWindowDimensions();
  const session = useSession();
  const membership = activeMembership(session);
  const enabled = session.status === 'signed-in' && isSupplier(membership);
  const queues = useQueries({
    queries: ORDER_QUEUES.map((queue) => ({
      queryKey: ['dashboard', session.companyId, queue.status],
      queryFn: () => api.get<Page<Order>>('/orders', { query: { side: 'selling', status: queue.status, limit: QUEUE_PAGE } }),
      enabled,
    })),
  });
  const rfqs = useQuery({
    queryKey: ['dashboard', session.companyId, 'rfqs'],
    queryFn: () => api.get<Page<RfqSummary>>('/rfqs', { query: { role: 'supplier', limit: 100 } }),
    enabled,
  });

  if (session.status === 'signed-in' && !isSupplier(membership)) {
    return <View style={{ padding: spacing.lg }}><Notice>{t('dashboard.suppliersOnly')}</Notice></View>;
  }
  const open = rfqsToAnswer(rfqs.data?.items ?? []);
  const columns = width >= WIDE ? 2 : 1;
  const firstFailed = [...queues, rfqs].find((q) => q.error);
  const anyData = queues.some((q) => q.data) || !!rfqs.data;
  const oldest = Math.min(...[...queues, rfqs].filter((q) => q.data).map((q) => q.dataUpdatedAt));
  return (
    <ScrollView contentContainerStyle={{ padding: spacing.lg, gap: spacing.lg }}>
      <Heading>{t('dashboard.title')}</Heading>
      <OfflineNotice error={firstFailed?.error ?? null} updatedAt={Number.isFinite(oldest) ? oldest : Date.now()} hasData={anyData} />
      <View style={{ flexDirection: 'row', flexWrap: 'wrap', gap: spacing.lg }}>
        {ORDER_QUEUES.map((queue, index) => {
          const result = queues[index];
          const { count, more } = queueCount(result.data);
          return (
            <View key={queue.key} style={{ width: columns === 2 ? '48%' : '100%', flexGrow: 1 }}>
              <Card testID={`queue-${queue.status}`}>
                <Heading level={2}>{t(`dashboard.${queue.key}`)}</Heading>
                <Text style={{ fontSize: 28, fontWeight: '700', color: colors.text }} testID="queue-count">
                  {more ? t('dashboard.atLeast', { count }) : count}
                </Text>
                {result.isPending && enabled ? <Skeleton lines={2} /> : null}
                {result.data && count === 0 ? <Text style={styles.muted}>{t('dashboard.nothing')}</Text> : null}
                <View role="list" style={{ gap: spacing.xs }}>
                  {result.data?.items.slice(0, SHOWN).map((order) => (
                    <View key={order.id} role="listitem">
                      <Link href={`/orders/${order.id}`} style={{ color: colors.primary, paddingVertical: spacing.xs }} testID="queue-order">
                        {t('orders.number', { number: order.number })} · {order.buyer_name ?? order.buyer_id.slice(0, 8)} · {formatMoney(order.total, order.currency, i18n.language)}
                      </Link>
                    </View>
                  ))}
                </View>
                {count > SHOWN ? <Link href="/orders" style={{ color: colors.primary, fontWeight: '600' }}>{t('dashboard.allOrders')}</Link> : null}
              </Card>
            </View>
          );
        })}
        <View style={{ width: columns === 2 ? '48%' : '100%', flexGrow: 1 }}>
          <Card testID="queue-rfqs">
            <Heading level={2}>{t('dashboard.rfqsToAnswer')}</Heading>
            <Text style={{ fontSize: 28, fontWeight: '700', color: colors.text }} testID="queue-count">
              {open.length}
            </Text>
            {rfqs.isPending && enabled ? <Skeleton lines={2} /> : null}
            {rfqs.data && open.length === 0 ? <Text style={styles.muted}>{t('dashboard.nothing')}</Text> : null}
            <View role="list" style={{ gap: spacing.xs }}>
              {open.slice(0, SHOWN).map((rfq) => (
                <View key={rfq.id} role="listitem">
                  <Link href={`/rfqs/${rfq.id}`} style={{ color: colors.primary, paddingVertical: spacing.xs }}>
                    {rfq.title} · {rfq.buyer_name} · {t('dashboard.deadline', { date: formatDate(rfq.deadline, i18n.language) })}
                  </Link>
                </View>
              ))}
            </View>
            <Link href="/rfqs/inbox" style={{ color: colors.primary, fontWeight: '600' }} testID="all-rfqs">
              {t('dashboard.allRfqs')}
            </Link>
          </Card>
        </View>
      </View>
      <View style={styles.row}>
        <Link href={'/my-products' as never} style={{ color: colors.primary, fontWeight: '600' }}>{t('dashboard.products')}</Link>
        <Link href={'/messages' as never} style={{ color: colors.primary, fontWeight: '600' }}>{t('dashboard.messages')}</Link>
      </View>
    </ScrollView>
  );
}
