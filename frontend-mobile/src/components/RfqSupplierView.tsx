/** A supplier's view of an RFQ: what the buyer asks for, the quote form (a unit price per
 * item, validity, lead time, payment terms, terms and notes) and the quote's status. */

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ScrollView, Text, useWindowDimensions, View } from 'react-native';

import { api } from '../api';
import { PAYMENT_TERMS, type PaymentTerms, type Quote, type Rfq } from '../api/rfqTypes';
import { formatDate, formatDateTime, formatMoney, formatNumber } from '../i18n/format';
import { activeMembership, useSession } from '../stores/session';
import { OfflineNotice } from './OfflineNotice';
import { canQuote, formLevelErrors, mayQuote, quoteBody, type QuoteDraft, quoteDraftFor } from './rfq';
import { Choice, StatusBadge } from './RfqParts';
import { WIDE } from './Shell';
import { colors, spacing } from './theme';
import { Button, Card, Field, Heading, Notice, Skeleton, styles } from './ui';
import { useProblem } from './useProblem';

export function RfqSupplierView({ rfq, error, updatedAt }: { rfq: Rfq; error: unknown; updatedAt: number }) {
  const { t, i18n } = useTranslation();
  const { width } = useWindowDimensions();
  const session = useSession();
  const queryClient = useQueryClient();
  const quotes = useQuery({
    queryKey: ['rfq', rfq.id, session.companyId, 'quotes'],
    queryFn: () => api.get<Quote[]>(`/rfqs/${rfq.id}/quotes`),
    staleTime: 0,
  });
  const mine = quotes.data?.find((q) => q.status !== 'withdrawn') ?? null;
  const [draft, setDraft] = useState<QuoteDraft>(() => quoteDraftFor(rfq, null));
  const started = useRef(false);
  useEffect(() => {
    // The form starts from the live quote once, then stays what the supplier types.
    if (started.current || !quotes.isSuccess) return;
    started.current = true;
    if (mine) setDraft(quoteDraftFor(rfq, mine));
  }, [quotes.isSuccess, mine, rfq]);
  const built = quoteBody(rfq, draft);
  const submit = useMutation({
    mutationFn: (sent: typeof built) => api.post<Quote>(`/rfqs/${rfq.id}/quotes`, sent.body),
    onSuccess: (quote) => {
      queryClient.setQueryData(['rfq', rfq.id, session.companyId, 'quotes'], [quote]);
    },
  });
  const problem = useProblem(submit.error);
  const update = (patch: Partial<QuoteDraft>): void => setDraft((d) => ({ ...d, ...patch }));
  const open = canQuote(rfq);
  const allowed = mayQuote(activeMembership(session));
  const wide = width >= WIDE;

  return (
    <ScrollView contentContainerStyle={{ padding: spacing.lg, gap: spacing.lg }} keyboardShouldPersistTaps="handled">
      <OfflineNotice error={error} updatedAt={updatedAt} hasData />
      <View style={{ gap: spacing.xs }}>
        <Heading>{rfq.title}</Heading>
        <StatusBadge status={rfq.status} label={t(`rfq.status.${rfq.status}`)} testID="rfq-detail-status" />
      </View>
      <View style={{ flexDirection: wide ? 'row' : 'column', gap: spacing.lg, alignItems: wide ? 'flex-start' : 'stretch' }}>
        <View style={{ flex: wide ? 3 : undefined, width: wide ? undefined : '100%', gap: spacing.lg }}>
          <Card>
            <Text style={{ color: colors.text }}>{t('rfq.buyer')}: {rfq.buyer_name}</Text>
            <Text style={{ color: colors.text }}>{t('rfq.deadlineOn', { date: formatDateTime(rfq.deadline, i18n.language) })}</Text>
            <Text style={{ color: colors.text }}>{t('rfq.deliverTo', { country: rfq.delivery_country })} · {t(`rfq.paymentTerm.${rfq.payment_terms}`)}</Text>
            {rfq.description ? <Text style={{ color: colors.text }}>{rfq.description}</Text> : null}
          </Card>
          <Card>
            <Heading level={2}>{open && allowed ? t('rfq.quoteForm') : t('rfq.lines')}</Heading>
            {rfq.items.map((item, index) => {
              // The refusal names prices by their place in what was sent, not in what is typed now.
              const field = submit.variables?.fieldOf(item.id) ?? null;
              const label = item.description || t('rfq.catalogItem');
              return (
                <View key={item.id} style={{ gap: spacing.xs, borderTopWidth: index ? 1 : 0, borderColor: colors.border, paddingTop: index ? spacing.md : 0 }} testID="quote-line">
                  <Text style={{ color: colors.text, fontWeight: '600' }}>{item.position}. {label}</Text>
                  <Text style={{ color: colors.text }}>
                    {formatNumber(item.quantity, i18n.language)} {item.unit}
                    {item.target_unit_price ? ` · ${t('rfq.target', { price: formatMoney(item.target_unit_price, rfq.currency, i18n.language) })}` : ''}
                  </Text>
                  {item.awarded_quote_id ? (
                    <Text style={{ color: colors.success, fontWeight: '700' }} testID="item-award">
                      ✓ {t('rfq.awardedToYou')}
                    </Text>
                  ) : null}
                  {open && allowed ? (
                    <View style={{ maxWidth: 260 }}>
                      <Field
                        label={t('rfq.unitPriceFor', { currency: rfq.currency, unit: item.unit })}
                        accessibilityLabel={t('rfq.unitPriceOf', { item: label })}
                        value={draft.prices[item.id] ?? ''}
                        onChangeText={(price) => update({ prices: { ...draft.prices, [item.id]: price } })}
                        error={field ? (problem.fields[field] ?? problem.fields[field.replace(/\.unit_price$/, '')]) : null}
                        inputMode="decimal"
                        testID={`price-${index}`}
                      />
                    </View>
                  ) : null}
                </View>
              );
            })}
          </Card>
        </View>
        <View style={{ flex: wide ? 2 : undefined, width: wide ? undefined : '100%', gap: spacing.lg }}>
          <Card testID="my-quote">
            <Heading level={2}>{t('rfq.yourQuote')}</Heading>
            {quotes.isPending ? <Skeleton lines={2} /> : null}
            {quotes.isSuccess && !mine ? <Text style={styles.muted}>{t('rfq.noQuoteYet')}</Text> : null}
            {mine ? (
              <>
                <StatusBadge status={mine.status} label={t(`rfq.quoteStatus.${mine.status}`)} testID="quote-status" />
                <Text style={{ color: colors.text }}>{t('rfq.revision', { n: mine.revision })} · {formatDateTime(mine.submitted_at, i18n.language)}</Text>
                <Text style={{ color: colors.text, fontWeight: '700' }}>{t('rfq.total')}: {formatMoney(mine.total, mine.currency, i18n.language)}</Text>
                <Text style={{ color: colors.text }}>{t('rfq.validUntilOn', { date: formatDate(mine.valid_until, i18n.language) })} · {t('rfq.leadTime', { days: mine.lead_time_days })}</Text>
              </>
            ) : null}
          </Card>
          {open && allowed ? (
            <Card>
              <Field label={t('rfq.validUntil')} value={draft.validUntil} onChangeText={(validUntil) => update({ validUntil })} error={problem.fields.valid_until} placeholder="YYYY-MM-DD" testID="valid-until" />
              <Field label={t('rfq.leadTimeDays')} value={draft.leadTimeDays} onChangeText={(leadTimeDays) => update({ leadTimeDays })} error={problem.fields.lead_time_days} inputMode="numeric" testID="lead-time" />
              <Choice<PaymentTerms>
                label={t('rfq.paymentTerms')}
                options={PAYMENT_TERMS.map((value) => ({ value, label: t(`rfq.paymentTerm.${value}`) }))}
                value={draft.paymentTerms}
                onChange={(paymentTerms) => update({ paymentTerms })}
                error={problem.fields.payment_terms}
              />
              <Field label={t('rfq.terms')} value={draft.terms} onChangeText={(terms) => update({ terms })} error={problem.fields.terms} multiline testID="quote-terms" />
              <Field label={t('rfq.notes')} value={draft.notes} onChangeText={(notes) => update({ notes })} error={problem.fields.notes} multiline testID="quote-notes" />
              {submit.isSuccess ? <Notice tone="success">{t('rfq.quoteSent')}</Notice> : null}
              {problem.message ? <Notice tone="error">{[problem.message, ...formLevelErrors(submit.error)].join(' ')}</Notice> : null}
              <Button label={mine ? t('rfq.reviseQuote') : t('rfq.submitQuote')} onPress={() => submit.mutate(built)} busy={submit.isPending} testID="submit-quote" />
            </Card>
          ) : (
            <Notice>{allowed ? t('rfq.closedForQuotes') : t('rfq.readOnly')}</Notice>
          )}
        </View>
      </View>
    </ScrollView>
  );
}
