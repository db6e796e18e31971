import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Image } from 'expo-image';
import { router, useLocalSearchParams } from 'expo-router';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ScrollView, Text, useWindowDimensions, View } from 'react-native';

import { api } from '../../src/api';
import type { Cart, PriceQuote, Product } from '../../src/api/types';
import { OfflineNotice } from '../../src/components/OfflineNotice';
import { mayBuy } from '../../src/components/rfq';
import { goToNewRfq } from '../../src/components/RfqList';
import { allowedQuantity, isAllowed, stepQuantity } from '../../src/components/quantity';
import { SupplierTrust } from '../../src/components/SupplierTrust';
import { WIDE } from '../../src/components/Shell';
import { colors, spacing } from '../../src/components/theme';
import { Button, Card, Field, Heading, Notice, Skeleton, styles } from '../../src/components/ui';
import { useProblem } from '../../src/components/useProblem';
import { formatMoney, formatNumber } from '../../src/i18n/format';
import { activeMembership, isBuyer, useSession } from '../../src/stores/session';

export default function ProductScreen() {
  const { id } = useLocalSearchParams<{ id: string }>();
  const { t, i18n } = useTranslation();
  const { width } = useWindowDimensions();
  const session = useSession();
  const buyer = session.status === 'signed-in' && isBuyer(activeMembership(session));
  const queryClient = useQueryClient();
  const product = useQuery({
    queryKey: ['product', id, session.companyId],
    queryFn: () => api.get<Product>(`/products/${id}`),
    // Stock and prices change: a saved copy is shown at once and checked again every time.
    staleTime: 0,
  });
  const [quantity, setQuantity] = useState<string>('');
  useEffect(() => {
    if (product.data && !quantity) setQuantity(allowedQuantity(product.data.moq, product.data.moq, product.data.order_multiple));
  }, [product.data, quantity]);
  const valid = !!product.data && isAllowed(quantity, product.data.moq, product.data.order_multiple);
  const price = useQuery({
    queryKey: ['price', id, quantity, session.companyId],
    queryFn: () => api.get<PriceQuote>(`/products/${id}/price`, { query: { quantity }, background: true }),
    enabled: buyer && valid,
  });
  const addToCart = useMutation({
    mutationFn: () => api.request<Cart>('PUT', `/cart/lines/${id}`, { body: { quantity } }),
    onSuccess: (cart) => queryClient.setQueryData(['cart', session.companyId], cart),
  });
  const problem = useProblem(addToCart.error);

  if (product.isPending) return <View style={{ padding: spacing.lg }}><Skeleton lines={6} /></View>;
  if (!product.data) return <View style={{ padding: spacing.lg }}><Notice tone="error">{problemMessage(product.error, t)}</Notice></View>;
  const p = product.data;
  const wide = width >= WIDE;
  const image = p.images[0];
  return (
    <ScrollView contentContainerStyle={{ padding: spacing.lg, gap: spacing.lg }}>
      <OfflineNotice error={product.error} updatedAt={product.dataUpdatedAt} hasData />
      <View style={{ flexDirection: wide ? 'row' : 'column', gap: spacing.xl }}>
        <View style={{ flex: wide ? 1 : undefined }}>
          {image ? (
            <Image
              source={{ uri: image.urls.large ?? image.urls.medium ?? Object.values(image.urls)[0] }}
              alt={image.alt_text || p.name}
              style={{ width: '100%', aspectRatio: image.width / image.height || 1, borderRadius: 8 }}
              contentFit="contain"
              cachePolicy="memory-disk"
            />
          ) : null}
        </View>
        <View style={{ flex: wide ? 1 : undefined, gap: spacing.sm }}>
          <Heading>{p.name}</Heading>
          <Text style={styles.muted}>{t('product.sku')}: {p.sku}</Text>
          <Card>
            <Text style={{ fontWeight: '600', color: colors.text }}>{t('product.supplier')}: {p.supplier.name} ({p.supplier.country})</Text>
            <Text style={{ color: p.supplier.is_verified ? colors.success : colors.muted }}>
              {p.supplier.is_verified ? `✓ ${t('product.verified')}` : t('product.unverified')}
            </Text>
            <SupplierTrust supplierId={p.supplier.id} />
          </Card>
          <Text style={{ color: colors.text }} testID="stock">
            {p.in_stock ? t('product.stock', { qty: formatNumber(p.stock, i18n.language) }) : t('product.outOfStock')}
          </Text>
          <Text style={{ color: colors.text }}>{t('product.moq', { qty: formatNumber(p.moq, i18n.language), unit: p.unit })}</Text>
          {p.order_multiple ? <Text style={{ color: colors.text }}>{t('product.packSize', { qty: formatNumber(p.order_multiple, i18n.language) })}</Text> : null}
          <Text style={{ color: colors.text }}>{t('product.leadTime', { days: p.lead_time_days })}</Text>
          <Heading level={2}>{t('product.tiers')}</Heading>
          {p.price_tiers.map((tier) => (
            <Text key={tier.min_qty} style={{ color: colors.text }}>
              {t('product.from', { qty: formatNumber(tier.min_qty, i18n.language) })}: {formatMoney(tier.unit_price, p.currency, i18n.language)} / {p.unit}
            </Text>
          ))}
          {price.data ? (
            <Text style={{ fontWeight: '700', fontSize: 18, color: colors.text }} testID="your-price">
              {t('product.yourPrice')}: {formatMoney(price.data.unit_price, price.data.currency, i18n.language)} · {formatMoney(price.data.line_total, price.data.currency, i18n.language)}
            </Text>
          ) : null}
          {buyer ? (
            <Card>
              <View style={styles.row}>
                <Button variant="secondary" label="−" onPress={() => setQuantity(stepQuantity(quantity, -1, p.moq, p.order_multiple))} testID="decrease" />
                <View style={{ width: 120 }}>
                  <Field label={t('product.quantity')} value={quantity} onChangeText={setQuantity} onBlur={() => setQuantity(allowedQuantity(quantity, p.moq, p.order_multiple))} inputMode="decimal" testID="quantity" />
                </View>
                <Button variant="secondary" label="+" onPress={() => setQuantity(stepQuantity(quantity, 1, p.moq, p.order_multiple))} testID="increase" />
              </View>
              <Button label={t('product.addToCart')} onPress={() => addToCart.mutate()} disabled={!valid} busy={addToCart.isPending} testID="add-to-cart" />
              {addToCart.isSuccess ? <Notice tone="success">{t('product.added')}</Notice> : null}
              {problem.message ? <Notice tone="error">{problem.message}</Notice> : null}
              {mayBuy(activeMembership(session)) ? <Button variant="secondary" label={t('product.requestQuote')} onPress={() => goToNewRfq(p.id)} testID="request-quote" /> : null}
            </Card>
          ) : session.status !== 'signed-in' ? (
            <Button variant="secondary" label={t('nav.signIn')} onPress={() => {
              useSession.setState({ returnTo: `/products/${p.id}` });
              router.push('/sign-in');
            }} />
          ) : null}
          <Heading level={2}>{t('product.attributes')}</Heading>
          {Object.entries(p.attributes).map(([key, value]) => (
            <Text key={key} style={{ color: colors.text }}>{key}: {value}</Text>
          ))}
          <Text style={{ color: colors.text }}>{p.description}</Text>
        </View>
      </View>
    </ScrollView>
  );
}

function problemMessage(error: unknown, t: (key: string) => string): string {
  if (error && typeof error === 'object' && 'message' in error && (error as { kind?: string }).kind === 'http') return String((error as Error).message);
  return t('errors.network');
}
