import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { router } from 'expo-router';
import { useTranslation } from 'react-i18next';
import { ScrollView, Text, View } from 'react-native';

import { api } from '../src/api';
import { newIdempotencyKey } from '../src/api/client';
import type { Cart, OrderDetail } from '../src/api/types';
import { OfflineNotice } from '../src/components/OfflineNotice';
import { colors, spacing } from '../src/components/theme';
import { Button, Card, Field, Heading, Notice, Skeleton, styles } from '../src/components/ui';
import { useProblem } from '../src/components/useProblem';
import { formatMoney, formatNumber } from '../src/i18n/format';
import { useCartDraft } from '../src/stores/cartDraft';
import { useSession } from '../src/stores/session';

export default function CartScreen() {
  const { t, i18n } = useTranslation();
  const companyId = useSession((s) => s.companyId);
  const signedIn = useSession((s) => s.status === 'signed-in');
  const queryClient = useQueryClient();
  const { draft, update, checkoutKey, setCheckoutKey, clear } = useCartDraft();
  // Always checked again: the saved copy can be older than the last add (the cache is
  // written to storage at most every 500 ms), and a reload right after adding showed it.
  const cart = useQuery({ queryKey: ['cart', companyId], queryFn: () => api.get<Cart>('/cart'), enabled: signedIn, staleTime: 0 });
  const remove = useMutation({
    mutationFn: (productId: string) => api.delete<Cart>(`/cart/lines/${productId}`),
    onSuccess: (next) => queryClient.setQueryData(['cart', companyId], next),
  });
  const checkout = useMutation({
    mutationFn: () => {
      // One key per checkout attempt, kept with the draft: a retry after a lost answer, or
      // a second press, replays the same checkout instead of placing it twice.
      const key = checkoutKey ?? newIdempotencyKey();
      if (!checkoutKey) setCheckoutKey(key);
      return api.post<{ orders: OrderDetail[] }>(
        '/checkout',
        {
          payment_terms: draft.paymentTerms,
          po_number: draft.poNumber || null,
          notes: draft.notes,
          shipping_address: { line1: draft.line1, postal_code: draft.postalCode, city: draft.city, country: draft.country.toUpperCase() },
        },
        { idempotencyKey: key },
      );
    },
    onSuccess: (placed) => {
      clear();
      void queryClient.invalidateQueries({ queryKey: ['cart'] });
      void queryClient.invalidateQueries({ queryKey: ['orders'] });
      router.replace({ pathname: '/orders', params: { placed: String(placed.orders.length) } });
    },
    onError: (error) => {
      // A refused checkout (4xx) is final for that key; the next attempt gets a new one.
      if ((error as { kind?: string }).kind === 'http') setCheckoutKey(null);
    },
  });
  const problem = useProblem(checkout.error);
  const field = (name: string): string | null => problem.fields[`shipping_address.${name}`] ?? problem.fields[name] ?? null;

  if (!signedIn) return <View style={{ padding: spacing.lg }}><Notice>{t('cart.empty')}</Notice></View>;
  if (cart.isPending) return <View style={{ padding: spacing.lg }}><Skeleton lines={5} /></View>;
  const lines = cart.data?.lines ?? [];
  const bySupplier = new Map<string, typeof lines>();
  for (const line of lines) bySupplier.set(line.supplier_id, [...(bySupplier.get(line.supplier_id) ?? []), line]);

  return (
    <ScrollView contentContainerStyle={{ padding: spacing.lg, gap: spacing.lg }}>
      <Heading>{t('cart.title')}</Heading>
      <OfflineNotice error={cart.error} updatedAt={cart.dataUpdatedAt} hasData={!!cart.data} />
      {lines.length === 0 ? <Text style={styles.muted}>{t('cart.empty')}</Text> : null}
      {[...bySupplier.entries()].map(([supplierId, supplierLines]) => {
        const subtotal = cart.data?.subtotals.find((s) => s.supplier_id === supplierId);
        return (
          <Card key={supplierId} testID="cart-group">
            <Heading level={2}>{t('cart.supplier', { name: subtotal?.supplier_name ?? supplierLines[0].supplier_name ?? supplierId.slice(0, 8) })}</Heading>
            {supplierLines.map((line) => (
              <View key={line.product_id} style={[styles.row, { justifyContent: 'space-between' }]}>
                <View style={{ flex: 1 }}>
                  <Text style={{ color: colors.text, fontWeight: '600' }}>{line.name}</Text>
                  <Text style={styles.muted}>
                    {formatNumber(line.quantity, i18n.language)} {line.unit} × {formatMoney(line.unit_price, line.currency, i18n.language)} = {formatMoney(line.line_total, line.currency, i18n.language)}
                  </Text>
                  {!line.available ? (
                    <Text style={{ color: colors.danger }} accessibilityRole="alert">
                      {t('cart.unavailable', { available: formatNumber(line.available_quantity ?? '0', i18n.language) })}
                    </Text>
                  ) : null}
                </View>
                <Button variant="secondary" label={t('cart.remove')} onPress={() => remove.mutate(line.product_id)} />
              </View>
            ))}
            {subtotal ? <Text style={{ fontWeight: '700', color: colors.text }}>{t('cart.subtotal')}: {formatMoney(subtotal.subtotal, subtotal.currency, i18n.language)}</Text> : null}
          </Card>
        );
      })}
      {lines.length > 0 ? (
        <Card>
          <Heading level={2}>{t('checkout.address')}</Heading>
          <Field label={t('checkout.line1')} value={draft.line1} onChangeText={(line1) => update({ line1 })} error={field('line1')} testID="line1" />
          <Field label={t('checkout.postalCode')} value={draft.postalCode} onChangeText={(postalCode) => update({ postalCode })} error={field('postal_code')} testID="postal-code" />
          <Field label={t('checkout.city')} value={draft.city} onChangeText={(city) => update({ city })} error={field('city')} testID="city" />
          <Field label={t('checkout.country')} value={draft.country} onChangeText={(country) => update({ country })} error={field('country')} maxLength={2} autoCapitalize="characters" testID="country" />
          <Field label={t('checkout.poNumber')} value={draft.poNumber} onChangeText={(poNumber) => update({ poNumber })} error={field('po_number')} testID="po-number" />
          <Field label={t('checkout.notes')} value={draft.notes} onChangeText={(notes) => update({ notes })} error={field('notes')} multiline testID="notes" />
          {problem.message ? <Notice tone="error">{problem.message}</Notice> : null}
          <Button label={t('checkout.place')} onPress={() => checkout.mutate()} busy={checkout.isPending} testID="place-orders" />
        </Card>
      ) : null}
    </ScrollView>
  );
}
