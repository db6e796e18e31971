import { useMutation, useQuery } from '@tanstack/react-query';
import { router, useLocalSearchParams } from 'expo-router';
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ScrollView, Text, useWindowDimensions, View } from 'react-native';

import { api } from '../../src/api';
import { PAYMENT_TERMS, type Address, type PaymentTerms, type Rfq } from '../../src/api/rfqTypes';
import type { Page, Product, ProductSearchItem } from '../../src/api/types';
import { dateInDays, draftErrors, emptyLine, formLevelErrors, mayBuy, rfqBody, type RfqDraft, type SupplierChoice, suppliersOf, toggleSupplier } from '../../src/components/rfq';
import { Checkbox, Choice } from '../../src/components/RfqParts';
import { WIDE } from '../../src/components/Shell';
import { colors, spacing } from '../../src/components/theme';
import { Button, Card, Field, Heading, Notice, Skeleton, styles } from '../../src/components/ui';
import { useProblem } from '../../src/components/useProblem';
import { activeMembership, useSession } from '../../src/stores/session';

function initialDraft(): RfqDraft {
  return {
    title: '',
    description: '',
    lines: [emptyLine()],
    suppliers: [],
    currency: 'EUR',
    deliveryCountry: '',
    deadline: dateInDays(7),
    paymentTerms: 'net_30',
  };
}

/** A new request for quotation: from a catalog product (`?product=`) or free text, sent
 * to the suppliers the buyer picks (at least two). */
export default function NewRfq() {
  const { product: productId } = useLocalSearchParams<{ product?: string }>();
  const { t } = useTranslation();
  const { width } = useWindowDimensions();
  const session = useSession();
  const membership = activeMembership(session);
  const [draft, setDraft] = useState<RfqDraft>(initialDraft);
  // Checked on the first press and from then on as the buyer types, so a fixed field
  // loses its message at once.
  const [attempted, setAttempted] = useState(false);
  const [supplierQuery, setSupplierQuery] = useState('');
  const [searchFor, setSearchFor] = useState('');
  // A request the API has stored but not yet opened: sending again only publishes it,
  // so a failed publish never leaves a second draft behind.
  const [createdId, setCreatedId] = useState<string | null>(null);
  const update = (patch: Partial<RfqDraft>): void => setDraft((d) => ({ ...d, ...patch }));

  const product = useQuery({
    queryKey: ['product', productId, session.companyId],
    queryFn: () => api.get<Product>(`/products/${productId}`),
    enabled: !!productId,
  });
  const addresses = useQuery({
    queryKey: ['addresses', session.companyId],
    queryFn: () => api.get<Page<Address>>(`/companies/${session.companyId}/addresses`, { query: { limit: 50 } }),
    enabled: session.status === 'signed-in' && !!session.companyId,
  });
  // Suppliers of similar products first (the product's category), then whatever the
  // buyer searches for.
  const category = product.data?.category?.slug;
  const suggested = useQuery({
    queryKey: ['rfq-suppliers', category ?? '', searchFor],
    queryFn: () => api.get<Page<ProductSearchItem>>('/products', { query: { q: searchFor || undefined, category: searchFor ? undefined : category, limit: 100 } }),
    enabled: !!searchFor || !!category,
  });

  const prefilled = useRef(false);
  useEffect(() => {
    const p = product.data;
    if (!p || prefilled.current) return;
    prefilled.current = true;
    setDraft((d) => ({
      ...d,
      title: d.title || p.name,
      currency: p.currency,
      lines: [{ productId: p.id, description: p.name, quantity: p.moq, unit: p.unit, targetPrice: '' }, ...d.lines.filter((l) => l.productId || l.description || l.quantity)],
      suppliers: d.suppliers.some((s) => s.id === p.supplier.id) ? d.suppliers : [{ id: p.supplier.id, name: p.supplier.name, country: p.supplier.country }, ...d.suppliers],
    }));
  }, [product.data]);
  useEffect(() => {
    const list = addresses.data?.items ?? [];
    const address = list.find((a) => a.is_default_shipping) ?? list[0];
    if (address) setDraft((d) => (d.deliveryCountry ? d : { ...d, deliveryCountry: address.country }));
  }, [addresses.data]);

  const send = useMutation({
    mutationFn: async () => {
      let id = createdId;
      if (!id) {
        id = (await api.post<Rfq>('/rfqs', rfqBody(draft))).id;
        setCreatedId(id);
      }
      return api.post<Rfq>(`/rfqs/${id}/publish`);
    },
    onSuccess: (rfq) => router.replace({ pathname: '/rfqs/[id]', params: { id: rfq.id, sent: String(rfq.invited_supplier_ids?.length ?? draft.suppliers.length) } }),
  });
  const problem = useProblem(send.error);
  const checked = attempted ? draftErrors(draft) : {};
  const error = (field: string): string | null => (checked[field] ? t(checked[field]) : null) ?? problem.fields[field] ?? null;
  const submit = (): void => {
    setAttempted(true);
    if (Object.keys(draftErrors(draft)).length === 0) send.mutate();
  };

  if (session.status === 'signed-in' && !mayBuy(membership)) {
    return <View style={{ padding: spacing.lg }}><Notice tone="error">{t('rfq.notBuyer')}</Notice></View>;
  }
  if (productId && product.isPending) return <View style={{ padding: spacing.lg }}><Skeleton lines={6} /></View>;
  const wide = width >= WIDE;
  const found = suppliersOf(suggested.data?.items ?? [], session.companyId);
  const options: SupplierChoice[] = [...draft.suppliers, ...found.filter((s) => !draft.suppliers.some((c) => c.id === s.id))];
  const setLine = (index: number, patch: Partial<RfqDraft['lines'][number]>): void =>
    update({ lines: draft.lines.map((line, i) => (i === index ? { ...line, ...patch } : line)) });

  return (
    <ScrollView contentContainerStyle={{ padding: spacing.lg, gap: spacing.lg }} keyboardShouldPersistTaps="handled">
      <Heading>{t('rfq.newTitle')}</Heading>
      <View style={{ flexDirection: wide ? 'row' : 'column', gap: spacing.lg, alignItems: wide ? 'flex-start' : 'stretch' }}>
        <View style={{ flex: wide ? 3 : undefined, width: wide ? undefined : '100%', gap: spacing.lg }}>
          <Card>
            <Field label={t('rfq.titleField')} value={draft.title} onChangeText={(title) => update({ title })} error={error('title')} testID="rfq-title" />
            <Field label={t('rfq.descriptionField')} value={draft.description} onChangeText={(description) => update({ description })} error={error('description')} multiline testID="rfq-description" />
          </Card>
          <Card>
            <Heading level={2}>{t('rfq.lines')}</Heading>
            {problem.fields.items ? <Text style={styles.error} accessibilityRole="alert">{problem.fields.items}</Text> : null}
            {draft.lines.map((line, index) => (
              <View key={index} testID="rfq-line" style={{ borderTopWidth: index ? 1 : 0, borderColor: colors.border, paddingTop: index ? spacing.md : 0, gap: spacing.xs }}>
                <View style={[styles.row, { justifyContent: 'space-between' }]}>
                  <Heading level={3}>{t('rfq.line', { n: index + 1 })}</Heading>
                  {draft.lines.length > 1 ? (
                    <Button variant="secondary" label={t('rfq.removeItem', { n: index + 1 })} onPress={() => update({ lines: draft.lines.filter((_, i) => i !== index) })} />
                  ) : null}
                </View>
                {line.productId ? <Text style={styles.muted}>{t('rfq.fromCatalog')}</Text> : null}
                {error(`items.${index}`) ? <Text style={styles.error} accessibilityRole="alert">{error(`items.${index}`)}</Text> : null}
                <Field label={t('rfq.item')} value={line.description} onChangeText={(description) => setLine(index, { description })} error={error(`items.${index}.description`)} testID={`line-${index}-description`} />
                <View style={[styles.row, { alignItems: 'flex-start' }]}>
                  <View style={{ flexGrow: 1, flexBasis: 120 }}>
                    <Field label={t('rfq.quantity')} value={line.quantity} onChangeText={(quantity) => setLine(index, { quantity })} error={error(`items.${index}.quantity`)} inputMode="decimal" testID={`line-${index}-quantity`} />
                  </View>
                  <View style={{ flexGrow: 1, flexBasis: 100 }}>
                    <Field label={t('rfq.unit')} value={line.unit} onChangeText={(unit) => setLine(index, { unit })} error={error(`items.${index}.unit`)} autoCapitalize="none" testID={`line-${index}-unit`} />
                  </View>
                  <View style={{ flexGrow: 1, flexBasis: 160 }}>
                    <Field label={t('rfq.targetPrice')} value={line.targetPrice} onChangeText={(targetPrice) => setLine(index, { targetPrice })} error={error(`items.${index}.target_unit_price`)} inputMode="decimal" testID={`line-${index}-target`} />
                  </View>
                </View>
              </View>
            ))}
            <View style={{ alignSelf: 'flex-start' }}>
              <Button variant="secondary" label={t('rfq.addItem')} onPress={() => update({ lines: [...draft.lines, emptyLine()] })} testID="add-line" />
            </View>
          </Card>
        </View>
        <View style={{ flex: wide ? 2 : undefined, width: wide ? undefined : '100%', gap: spacing.lg }}>
          <Card>
            <Heading level={2}>{t('rfq.suppliers')}</Heading>
            <Text style={styles.muted} accessibilityLiveRegion="polite">{t('rfq.chosen', { count: draft.suppliers.length })}</Text>
            <View style={{ flexDirection: 'row', gap: spacing.sm, alignItems: 'flex-end' }}>
              <View style={{ flex: 1 }}>
                <Field
                  label={t('rfq.findSuppliers')}
                  placeholder={t('rfq.findPlaceholder')}
                  value={supplierQuery}
                  onChangeText={setSupplierQuery}
                  onSubmitEditing={() => setSearchFor(supplierQuery.trim())}
                  inputMode="search"
                  testID="supplier-search"
                />
              </View>
              <View style={{ marginBottom: spacing.md }}>
                <Button variant="secondary" label={t('rfq.find')} onPress={() => setSearchFor(supplierQuery.trim())} testID="supplier-search-go" />
              </View>
            </View>
            {suggested.isFetching ? <Skeleton lines={2} /> : null}
            {!searchFor && !category && options.length === 0 ? <Text style={styles.muted}>{t('rfq.findHint')}</Text> : null}
            {searchFor && suggested.isSuccess && found.length === 0 ? <Text style={styles.muted}>{t('rfq.noSuppliers')}</Text> : null}
            <View style={{ gap: spacing.xs }}>
              {options.map((supplier) => (
                <Checkbox
                  key={supplier.id}
                  label={supplier.name}
                  detail={supplier.country}
                  checked={draft.suppliers.some((s) => s.id === supplier.id)}
                  onPress={() => update({ suppliers: toggleSupplier(draft.suppliers, supplier) })}
                  testID="supplier-option"
                />
              ))}
            </View>
            {error('invited_supplier_ids') ? <Text style={styles.error} accessibilityRole="alert">{error('invited_supplier_ids')}</Text> : null}
          </Card>
          <Card>
            <Field label={t('rfq.deadline')} value={draft.deadline} onChangeText={(deadline) => update({ deadline })} error={error('deadline')} placeholder="YYYY-MM-DD" testID="rfq-deadline" />
            <View style={styles.row}>
              <View style={{ flexGrow: 1, flexBasis: 120 }}>
                <Field label={t('rfq.currency')} value={draft.currency} onChangeText={(currency) => update({ currency })} error={error('currency')} maxLength={3} autoCapitalize="characters" testID="rfq-currency" />
              </View>
              <View style={{ flexGrow: 1, flexBasis: 120 }}>
                <Field label={t('rfq.deliveryCountry')} value={draft.deliveryCountry} onChangeText={(deliveryCountry) => update({ deliveryCountry })} error={error('delivery_country')} maxLength={2} autoCapitalize="characters" testID="rfq-country" />
              </View>
            </View>
            <Choice<PaymentTerms>
              label={t('rfq.paymentTerms')}
              options={PAYMENT_TERMS.map((value) => ({ value, label: t(`rfq.paymentTerm.${value}`) }))}
              value={draft.paymentTerms}
              onChange={(paymentTerms) => update({ paymentTerms })}
              error={error('payment_terms')}
            />
            {createdId ? <Notice>{t('rfq.savedAsDraft')}</Notice> : null}
            {problem.message ? <Notice tone="error">{[problem.message, ...formLevelErrors(send.error)].join(' ')}</Notice> : null}
            {Object.keys(checked).length ? <Notice tone="error">{t('rfq.errors.checkForm')}</Notice> : null}
            <Button label={t('rfq.send')} onPress={submit} busy={send.isPending} testID="send-rfq" />
          </Card>
        </View>
      </View>
    </ScrollView>
  );
}
