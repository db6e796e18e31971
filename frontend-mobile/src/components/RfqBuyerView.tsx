/** The buyer's view of an RFQ: its status and items, the quotes side by side per line,
 * and the line-by-line award that becomes one order per awarded supplier. */

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from 'expo-router';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ScrollView, Text, useWindowDimensions, View } from 'react-native';

import { api } from '../api';
import { newIdempotencyKey } from '../api/client';
import type { Address, AwardResult, Comparison, Quote, Rfq } from '../api/rfqTypes';
import type { Page } from '../api/types';
import { formatDate, formatDateTime, formatMoney, formatNumber } from '../i18n/format';
import { activeMembership, useSession } from '../stores/session';
import { OfflineNotice } from './OfflineNotice';
import { type AwardChoice, awardLines, awardOrders, buyerActions, chooseOffer, comparisonGrid, initialAward, mayBuy } from './rfq';
import { Choice, Radio, RfqItems, StatusBadge } from './RfqParts';
import { WIDE } from './Shell';
import { colors, spacing } from './theme';
import { Button, Card, Field, Heading, Notice, Skeleton, styles } from './ui';
import { useProblem } from './useProblem';

const COLUMN = { flexGrow: 1, flexBasis: 200, minWidth: 180 } as const;

export function RfqBuyerView({ rfq, sentTo, error, updatedAt }: { rfq: Rfq; sentTo: number | null; error: unknown; updatedAt: number }) {
  const { t, i18n } = useTranslation();
  const { width } = useWindowDimensions();
  const session = useSession();
  const buyer = mayBuy(activeMembership(session));
  const queryClient = useQueryClient();
  const rfqKey = ['rfq', rfq.id, session.companyId];
  const published = rfq.status !== 'draft';
  const quotes = useQuery({
    queryKey: ['rfq', rfq.id, session.companyId, 'quotes'],
    queryFn: () => api.get<Quote[]>(`/rfqs/${rfq.id}/quotes`),
    enabled: published,
    staleTime: 0,
  });
  const comparison = useQuery({
    queryKey: ['rfq', rfq.id, session.companyId, 'comparison'],
    queryFn: () => api.get<Comparison>(`/rfqs/${rfq.id}/comparison`),
    enabled: published && buyer,
    staleTime: 0,
  });
  const addresses = useQuery({
    queryKey: ['addresses', session.companyId],
    queryFn: () => api.get<Page<Address>>(`/companies/${session.companyId}/addresses`, { query: { limit: 50 } }),
    enabled: rfq.status === 'open' && buyer && !!session.companyId,
  });

  // Only what the buyer picked; every other item follows the best offer as quotes arrive.
  const [picked, setPicked] = useState<AwardChoice>({});
  const choice: AwardChoice | null = comparison.data ? { ...initialAward(comparison.data), ...picked } : null;
  const [addressId, setAddressId] = useState<string | null>(null);
  const [typed, setTyped] = useState({ line1: '', postal_code: '', city: '', country: '' });
  const [poNumber, setPoNumber] = useState('');
  const [notes, setNotes] = useState('');
  // Cancelling cannot be undone: it asks once more.
  const [confirmCancel, setConfirmCancel] = useState(false);
  const [awardKey, setAwardKey] = useState<string | null>(null);
  const savedAddresses = addresses.data?.items ?? [];
  const chosenAddress = addressId ?? (savedAddresses.find((a) => a.is_default_shipping) ?? savedAddresses[0])?.id ?? null;

  const refresh = (next: Rfq): void => {
    queryClient.setQueryData(rfqKey, next);
    void queryClient.invalidateQueries({ queryKey: ['rfqs'] });
  };
  const step = useMutation({
    mutationFn: (action: 'publish' | 'cancel') => api.post<Rfq>(`/rfqs/${rfq.id}/${action}`),
    onSuccess: refresh,
  });
  const award = useMutation({
    mutationFn: () => {
      // One key per award attempt: a retry after a lost answer replays the same award
      // instead of ordering twice.
      const key = awardKey ?? newIdempotencyKey();
      if (!awardKey) setAwardKey(key);
      return api.post<AwardResult>(
        `/rfqs/${rfq.id}/award`,
        {
          lines: comparison.data && choice ? awardLines(comparison.data, choice) : [],
          ...(chosenAddress ? { shipping_address_id: chosenAddress } : { shipping_address: { ...typed, country: typed.country.trim().toUpperCase() } }),
          po_number: poNumber.trim() || null,
          notes,
        },
        { idempotencyKey: key },
      );
    },
    onSuccess: (result) => {
      setAwardKey(null);
      refresh(result.rfq);
      void queryClient.invalidateQueries({ queryKey: ['rfq', rfq.id] });
      void queryClient.invalidateQueries({ queryKey: ['orders'] });
    },
    onError: (failure) => {
      // A refused award (4xx) is final for that key; the next attempt gets a new one.
      if ((failure as { kind?: string }).kind === 'http') setAwardKey(null);
    },
  });
  const problem = useProblem(award.error ?? step.error);
  const wide = width >= WIDE;
  const canAward = rfq.status === 'open' && buyer;
  const grid = comparison.data ? comparisonGrid(comparison.data) : [];
  const orders = comparison.data && choice ? awardOrders(comparison.data, choice) : [];
  const money = (amount: string): string => formatMoney(amount, rfq.currency, i18n.language);

  return (
    <ScrollView contentContainerStyle={{ padding: spacing.lg, gap: spacing.lg }} keyboardShouldPersistTaps="handled">
      <OfflineNotice error={error} updatedAt={updatedAt} hasData />
      {sentTo ? <Notice tone="success">{t('rfq.sent', { count: sentTo })}</Notice> : null}
      {award.isSuccess ? (
        <Notice tone="success">
          {t('rfq.awarded', { count: award.data.order_ids.length })}{' '}
          <Link href="/orders" style={{ color: colors.primary, fontWeight: '700', textDecorationLine: 'underline' }}>{t('rfq.viewOrders')}</Link>
        </Notice>
      ) : null}
      <View style={{ gap: spacing.xs }}>
        <Heading>{rfq.title}</Heading>
        <StatusBadge status={rfq.status} label={t(`rfq.status.${rfq.status}`)} testID="rfq-detail-status" />
      </View>
      <View style={{ flexDirection: wide ? 'row' : 'column', gap: spacing.lg, alignItems: wide ? 'flex-start' : 'stretch' }}>
        <Card>
          <Text style={{ color: colors.text }}>{t('rfq.deadlineOn', { date: formatDateTime(rfq.deadline, i18n.language) })}</Text>
          <Text style={{ color: colors.text }}>{t('rfq.deliverTo', { country: rfq.delivery_country })} · {rfq.currency} · {t(`rfq.paymentTerm.${rfq.payment_terms}`)}</Text>
          <Text style={{ color: colors.text }}>{t('rfq.invited', { count: rfq.invited_supplier_ids?.length ?? 0 })}</Text>
          {rfq.description ? <Text style={{ color: colors.text }}>{rfq.description}</Text> : null}
          {buyer && buyerActions(rfq.status).some((a) => a !== 'award') ? (
            <View style={styles.row}>
              {buyerActions(rfq.status).includes('publish') ? (
                <Button label={t('rfq.publish')} onPress={() => step.mutate('publish')} busy={step.isPending && step.variables === 'publish'} testID="publish-rfq" />
              ) : null}
              {confirmCancel ? null : <Button variant="danger" label={t('rfq.cancel')} onPress={() => setConfirmCancel(true)} testID="cancel-rfq" />}
            </View>
          ) : null}
          {confirmCancel && buyerActions(rfq.status).includes('cancel') ? (
            <View style={{ gap: spacing.sm }}>
              <Text style={{ color: colors.text }} accessibilityRole="alert">{t('rfq.confirmCancel')}</Text>
              <View style={styles.row}>
                <Button variant="danger" label={t('rfq.confirmCancelYes')} onPress={() => step.mutate('cancel', { onSettled: () => setConfirmCancel(false) })} busy={step.isPending && step.variables === 'cancel'} testID="confirm-cancel-rfq" />
                <Button variant="secondary" label={t('rfq.keep')} onPress={() => setConfirmCancel(false)} />
              </View>
            </View>
          ) : null}
        </Card>
        <View style={{ flex: 1, width: wide ? undefined : '100%' }}>
          <Card>
            <Heading level={2}>{t('rfq.lines')}</Heading>
            <RfqItems rfq={rfq} />
          </Card>
        </View>
      </View>
      {problem.message ? <Notice tone="error">{problem.message}</Notice> : null}

      {published ? (
        <View style={{ gap: spacing.md }}>
          <Heading level={2}>{t('rfq.quotes')}</Heading>
          {quotes.isPending ? <Skeleton lines={3} /> : null}
          {quotes.isSuccess && quotes.data.length === 0 ? <Text style={styles.muted}>{t('rfq.noQuotes', { date: formatDate(rfq.deadline, i18n.language) })}</Text> : null}
          <View style={{ flexDirection: 'row', flexWrap: 'wrap', gap: spacing.md }}>
            {[...(quotes.data ?? [])].sort((a, b) => Number(a.total) - Number(b.total)).map((quote) => (
              <View key={quote.id} style={COLUMN} testID="quote-card">
                <Card>
                  <Heading level={3}>{quote.supplier_name}</Heading>
                  <StatusBadge status={quote.status} label={t(`rfq.quoteStatus.${quote.status}`)} />
                  <Text style={{ color: colors.text, fontWeight: '700' }}>{t('rfq.total')}: {money(quote.total)}</Text>
                  <Text style={{ color: colors.text }}>{t('rfq.quotedLines', { count: quote.items.length, total: rfq.items.length })}</Text>
                  <Text style={{ color: colors.text }}>{t('rfq.leadTime', { days: quote.lead_time_days })} · {t('rfq.validUntilOn', { date: formatDate(quote.valid_until, i18n.language) })}</Text>
                  <Text style={{ color: colors.text }}>{t(`rfq.paymentTerm.${quote.payment_terms}`)}</Text>
                  {quote.terms ? <Text style={styles.muted}>{t('rfq.terms')}: {quote.terms}</Text> : null}
                  {quote.notes ? <Text style={styles.muted}>{t('rfq.notes')}: {quote.notes}</Text> : null}
                </Card>
              </View>
            ))}
          </View>
        </View>
      ) : null}

      {comparison.data && comparison.data.quotes.length > 0 && choice ? (
        <View style={{ gap: spacing.md }}>
          <Heading level={2}>{t('rfq.compare')}</Heading>
          {!canAward ? null : <Text style={styles.muted}>{t('rfq.compareHint')}</Text>}
          {grid.map((row, index) => {
            const item = comparison.data.items[index];
            const label = item.description || t('rfq.catalogItem');
            return (
              <Card key={row.itemId} testID="compare-line">
                <Heading level={3}>{index + 1}. {label}</Heading>
                <Text style={{ color: colors.text }}>
                  {formatNumber(item.quantity, i18n.language)} {rfq.items.find((i) => i.id === row.itemId)?.unit ?? ''}
                  {item.target_unit_price ? ` · ${t('rfq.target', { price: money(item.target_unit_price) })}` : ''}
                </Text>
                <View role="radiogroup" aria-label={label} style={{ flexDirection: 'row', flexWrap: 'wrap', gap: spacing.sm }}>
                  {row.cells.map((offer, column) => {
                    const supplier = comparison.data.quotes[column].supplier_name;
                    if (!offer) {
                      return (
                        <View key={column} style={[COLUMN, { padding: spacing.md, borderWidth: 1, borderStyle: 'dashed', borderColor: colors.border, borderRadius: 6 }]}>
                          <Text style={styles.muted}>{supplier}: {t('rfq.notQuoted')}</Text>
                        </View>
                      );
                    }
                    const text = t('rfq.offer', { supplier, price: money(offer.unit_price), total: money(offer.line_total), days: offer.lead_time_days });
                    return (
                      <View key={column} style={COLUMN}>
                        <Radio
                          label={t('rfq.awardTo', { item: label, offer: text })}
                          // Once decided, the API says which quote won each item, not the starting picks.
                          checked={canAward ? choice[row.itemId] === offer.quote_id : rfq.items.find((i) => i.id === row.itemId)?.awarded_quote_id === offer.quote_id}
                          onPress={() => setPicked(chooseOffer(picked, row.itemId, offer.quote_id))}
                          disabled={!canAward}
                          testID="offer"
                        >
                          <View style={{ flex: 1 }}>
                            <Text style={{ color: colors.text, fontWeight: '700' }}>{supplier}</Text>
                            <Text style={{ color: colors.text }}>{t('rfq.perUnit', { price: money(offer.unit_price) })}</Text>
                            <Text style={{ color: colors.text }}>{t('rfq.lineTotal', { total: money(offer.line_total) })}</Text>
                            <Text style={styles.muted}>{t('rfq.leadTime', { days: offer.lead_time_days })}</Text>
                            {offer.is_best ? <Text style={{ color: colors.success, fontWeight: '700' }}>★ {t('rfq.best')}</Text> : null}
                          </View>
                        </Radio>
                      </View>
                    );
                  })}
                  {canAward ? (
                    <View style={{ justifyContent: 'center' }}>
                      <Radio
                        label={t('rfq.noAwardFor', { item: label })}
                        checked={choice[row.itemId] === null}
                        onPress={() => setPicked(chooseOffer(picked, row.itemId, null))}
                        testID="no-award"
                      >
                        <Text style={{ color: colors.text }}>{t('rfq.noAward')}</Text>
                      </Radio>
                    </View>
                  ) : null}
                </View>
              </Card>
            );
          })}
          {canAward ? (
            <Card testID="award-panel">
              <Heading level={2}>{t('rfq.award')}</Heading>
              {orders.length === 0 ? <Text style={styles.muted}>{t('rfq.nothingToAward')}</Text> : null}
              {orders.map((order) => (
                <Text key={order.quoteId} style={{ color: colors.text }} testID="award-order">
                  {t('rfq.orderFor', { supplier: order.supplierName, count: order.lines, total: money(order.total) })}
                </Text>
              ))}
              {savedAddresses.length ? (
                <Choice
                  label={t('rfq.shipTo')}
                  options={savedAddresses.map((a) => ({ value: a.id, label: `${a.label}: ${a.line1}, ${a.postal_code} ${a.city}, ${a.country}` }))}
                  value={chosenAddress}
                  onChange={setAddressId}
                  error={problem.fields.shipping_address_id}
                />
              ) : addresses.isSuccess ? (
                <>
                  <Heading level={3}>{t('checkout.address')}</Heading>
                  <Field label={t('checkout.line1')} value={typed.line1} onChangeText={(line1) => setTyped({ ...typed, line1 })} error={problem.fields['shipping_address.line1']} />
                  <Field label={t('checkout.postalCode')} value={typed.postal_code} onChangeText={(postal_code) => setTyped({ ...typed, postal_code })} error={problem.fields['shipping_address.postal_code']} />
                  <Field label={t('checkout.city')} value={typed.city} onChangeText={(city) => setTyped({ ...typed, city })} error={problem.fields['shipping_address.city']} />
                  <Field label={t('checkout.country')} value={typed.country} onChangeText={(country) => setTyped({ ...typed, country })} error={problem.fields['shipping_address.country']} maxLength={2} autoCapitalize="characters" />
                </>
              ) : (
                <Skeleton lines={2} />
              )}
              <Field label={t('checkout.poNumber')} value={poNumber} onChangeText={setPoNumber} error={problem.fields.po_number} testID="award-po" />
              <Field label={t('checkout.notes')} value={notes} onChangeText={setNotes} error={problem.fields.notes} multiline testID="award-notes" />
              <Button label={t('rfq.awardLines')} onPress={() => award.mutate()} busy={award.isPending} disabled={orders.length === 0} testID="award" />
            </Card>
          ) : null}
        </View>
      ) : null}
    </ScrollView>
  );
}
