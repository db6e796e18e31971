import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from 'expo-router';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ScrollView, Text, View } from 'react-native';

import { api } from '../src/api';
import type { Order, Page } from '../src/api/types';
import { colors, spacing } from '../src/components/theme';
import { Button, Card, Field, Heading, Notice, Skeleton, styles } from '../src/components/ui';
import { useProblem } from '../src/components/useProblem';
import { formatMoney } from '../src/i18n/format';
import { useSession } from '../src/stores/session';

export default function Approvals() {
  const { t, i18n } = useTranslation();
  const companyId = useSession((s) => s.companyId);
  const queryClient = useQueryClient();
  const [notes, setNotes] = useState<Record<string, string>>({});
  const pending = useQuery({
    queryKey: ['approvals', companyId],
    queryFn: () => api.get<Page<Order>>('/orders', { query: { side: 'buying', status: 'pending_approval', limit: 100 } }),
  });
  const decide = useMutation({
    mutationFn: ({ id, action }: { id: string; action: 'approve' | 'decline' }) =>
      api.post(`/orders/${id}/transitions`, { action, reason: notes[id] || null }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ['approvals'] });
      void queryClient.invalidateQueries({ queryKey: ['orders'] });
    },
  });
  const problem = useProblem(decide.error);
  return (
    <ScrollView contentContainerStyle={{ padding: spacing.lg, gap: spacing.md }}>
      <Heading>{t('approvals.title')}</Heading>
      {pending.isPending ? <Skeleton lines={4} /> : null}
      {pending.data?.items.length === 0 ? <Text style={styles.muted}>{t('approvals.empty')}</Text> : null}
      {problem.message ? <Notice tone="error">{problem.message}</Notice> : null}
      {pending.data?.items.map((order) => (
        <Card key={order.id} testID="approval">
          <Link href={`/orders/${order.id}`} style={{ color: colors.primary, fontWeight: '700' }}>
            {t('orders.number', { number: order.number })}
          </Link>
          <Text style={{ color: colors.text }}>
            {order.supplier_name ?? order.supplier_id} · {formatMoney(order.total, order.currency, i18n.language)}
          </Text>
          <Field label={t('approvals.note')} value={notes[order.id] ?? ''} onChangeText={(v) => setNotes({ ...notes, [order.id]: v })} />
          <View style={styles.row}>
            <Button label={t('orders.approve')} onPress={() => decide.mutate({ id: order.id, action: 'approve' })} testID="approve" />
            <Button label={t('orders.decline')} variant="danger" onPress={() => decide.mutate({ id: order.id, action: 'decline' })} />
          </View>
        </Card>
      ))}
    </ScrollView>
  );
}
