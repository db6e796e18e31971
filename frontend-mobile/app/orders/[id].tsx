import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { router, useLocalSearchParams } from 'expo-router';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ScrollView, Text, View } from 'react-native';

import { api } from '../../src/api';
import { newIdempotencyKey } from '../../src/api/client';
import type { OrderDetail, Thread } from '../../src/api/types';
import { OfflineNotice } from '../../src/components/OfflineNotice';
import { ReviewForm } from '../../src/components/ReviewForm';
import { downloadFile } from '../../src/components/download';
import { availableActions, NEEDS_REASON, type OrderAction } from '../../src/components/orderActions';
import { colors, spacing } from '../../src/components/theme';
import { Button, Card, Field, Heading, Notice, Skeleton, styles } from '../../src/components/ui';
import { useProblem } from '../../src/components/useProblem';
import { formatDateTime, formatMoney, formatNumber } from '../../src/i18n/format';
import { activeMembership, useSession } from '../../src/stores/session';

export default function OrderScreen() {
  const { id } = useLocalSearchParams<{ id: string }>();
  const { t, i18n } = useTranslation();
  const session = useSession();
  const membership = activeMembership(session);
  const queryClient = useQueryClient();
  const [reason, setReason] = useState('');
  const [carrier, setCarrier] = useState('');
  const [tracking, setTracking] = useState('');
  const [amount, setAmount] = useState('');
  const order = useQuery({ queryKey: ['order', id], queryFn: () => api.get<OrderDetail>(`/orders/${id}`), enabled: session.status === 'signed-in' });
  const act = useMutation({
    mutationFn: (action: OrderAction) =>
      api.post<OrderDetail>(`/orders/${id}/transitions`, {
        action,
        reason: reason || null,
        carrier: action === 'ship' ? carrier : null,
        tracking_number: action === 'ship' ? tracking : null,
      }),
    onSuccess: (next) => {
      queryClient.setQueryData(['order', id], next);
      void queryClient.invalidateQueries({ queryKey: ['orders'] });
      void queryClient.invalidateQueries({ queryKey: ['dashboard'] });
      setReason('');
    },
  });
  const pay = useMutation({
    mutationFn: () => api.post(`/orders/${id}/payments`, { amount }, { idempotencyKey: newIdempotencyKey() }),
    onSuccess: () => {
      setAmount('');
      void queryClient.invalidateQueries({ queryKey: ['order', id] });
    },
  });
  const converse = useMutation({
    // Opens the order's thread, or finds the one that exists (the API answers 200 then).
    mutationFn: () => api.post<Thread>('/threads', { subject_type: 'order', subject_id: id }),
    onSuccess: (thread) => router.push(`/messages/${thread.id}` as never),
  });
  // The invoice needs the session: the cookie on the web, the bearer token on a phone.
  const invoice = useMutation({ mutationFn: (o: OrderDetail) => downloadFile(`/orders/${o.id}/invoice.pdf`, `${o.number}.pdf`) });
  const problem = useProblem(act.error ?? pay.error ?? converse.error ?? invoice.error);

  if (order.isPending) return <View style={{ padding: spacing.lg }}><Skeleton lines={6} /></View>;
  if (!order.data) return <View style={{ padding: spacing.lg }}><Notice tone="error">{t('errors.network')}</Notice></View>;
  const o = order.data;
  const side = o.supplier_id === session.companyId ? 'supplier' : 'buyer';
  const actions = membership ? availableActions(o.status, side, membership.role) : [];
  return (
    <ScrollView contentContainerStyle={{ padding: spacing.lg, gap: spacing.lg }}>
      <OfflineNotice error={order.error} updatedAt={order.dataUpdatedAt} hasData />
      <Heading>{t('orders.number', { number: o.number })}</Heading>
      <Text style={{ fontSize: 18, fontWeight: '700', color: colors.text }} testID="order-detail-status">
        {t('orders.status')}: {t(`status.${o.status}`)}
      </Text>
      <Card>
        <Text style={{ color: colors.text }}>{t('orders.buyer')}: {o.buyer_name ?? o.buyer_id}</Text>
        <Text style={{ color: colors.text }}>{t('orders.supplier')}: {o.supplier_name ?? o.supplier_id}</Text>
        {o.po_number ? <Text style={{ color: colors.text }}>{t('checkout.poNumber')}: {o.po_number}</Text> : null}
        {o.carrier ? <Text style={{ color: colors.text }}>{t('orders.carrier')}: {o.carrier} · {o.tracking_number}</Text> : null}
        <Text style={{ color: colors.text }}>{o.payment_status === 'paid' ? t('orders.paid') : t('orders.unpaid')}</Text>
      </Card>
      <Card>
        {o.lines.map((line) => (
          <Text key={line.position} style={{ color: colors.text }}>
            {line.name} · {formatNumber(line.quantity, i18n.language)} {line.unit} × {formatMoney(line.unit_price, o.currency, i18n.language)} = {formatMoney(line.line_total, o.currency, i18n.language)}
          </Text>
        ))}
        <Text style={{ fontWeight: '700', color: colors.text }}>{t('orders.total')}: {formatMoney(o.total, o.currency, i18n.language)}</Text>
        {o.status !== 'pending_approval' ? <Button variant="secondary" label={t('orders.invoice')} onPress={() => invoice.mutate(o)} busy={invoice.isPending} testID="invoice" /> : null}
      </Card>
      {actions.length ? (
        <Card>
          {actions.some((a) => NEEDS_REASON.includes(a)) ? <Field label={t('orders.reason')} value={reason} onChangeText={setReason} testID="reason" /> : null}
          {actions.includes('ship') ? (
            <>
              <Field label={t('orders.carrier')} value={carrier} onChangeText={setCarrier} testID="carrier" />
              <Field label={t('orders.tracking')} value={tracking} onChangeText={setTracking} testID="tracking" />
            </>
          ) : null}
          <View style={styles.row}>
            {actions.map((action) => (
              <Button
                key={action}
                label={t(`orders.${action}`)}
                variant={action === 'reject' || action === 'decline' || action === 'cancel' ? 'danger' : 'primary'}
                onPress={() => act.mutate(action)}
                busy={act.isPending && act.variables === action}
                testID={`action-${action}`}
              />
            ))}
          </View>
        </Card>
      ) : null}
      {side === 'supplier' && o.payment_status !== 'paid' && ['confirmed', 'shipped', 'delivered', 'completed'].includes(o.status) ? (
        <Card>
          <Field label={t('orders.amount')} value={amount} onChangeText={setAmount} inputMode="decimal" />
          <Button label={t('orders.recordPayment')} onPress={() => pay.mutate()} busy={pay.isPending} />
        </Card>
      ) : null}
      {problem.message ? <Notice tone="error">{problem.message}</Notice> : null}
      {membership && membership.role !== 'viewer' ? (
        <View style={styles.row}>
          <Button
            variant="secondary"
            label={side === 'buyer' ? t('messages.messageSupplier') : t('messages.messageBuyer')}
            onPress={() => converse.mutate()}
            busy={converse.isPending}
            testID="open-thread"
          />
        </View>
      ) : null}
      {side === 'buyer' && o.status === 'completed' && membership && ['owner', 'admin', 'purchaser'].includes(membership.role) ? (
        <ReviewForm orderId={o.id} supplierName={o.supplier_name ?? o.supplier_id} reviewed={o.reviewed} />
      ) : null}
      <Heading level={2}>{t('orders.timeline')}</Heading>
      <View role="list">
        {o.history.map((step, index) => (
          <Text key={index} role="listitem" style={{ color: colors.text, paddingVertical: 2 }}>
            {formatDateTime(step.created_at, i18n.language)} · {t(`status.${step.to_status}`)}{step.reason ? ` · ${step.reason}` : ''}
          </Text>
        ))}
      </View>
    </ScrollView>
  );
}
