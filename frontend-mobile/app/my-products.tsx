import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { Link } from 'expo-router';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { FlatList, Text, useWindowDimensions, View } from 'react-native';

import { api } from '../src/api';
import type { OwnProduct, Page, Product } from '../src/api/types';
import { OfflineNotice } from '../src/components/OfflineNotice';
import { ifMatch, isChangedElsewhere, patchFor, quickFieldErrors, type QuickField, type QuickValues, valuesOf } from '../src/components/quickEdit';
import { WIDE } from '../src/components/Shell';
import { colors, spacing } from '../src/components/theme';
import { Button, Card, Field, Heading, Notice, Skeleton, styles } from '../src/components/ui';
import { useProblem } from '../src/components/useProblem';
import { formatMoney, formatNumber } from '../src/i18n/format';
import { activeMembership, isSupplier, useSession } from '../src/stores/session';

/** What the editor shows and saves over: the product as last read, with its version. */
type Editing = Pick<OwnProduct, 'stock' | 'price_tiers' | 'unit' | 'currency' | 'moq' | 'version'>;

/** Raised instead of saving when the API refused the version loaded (412). */
class ChangedElsewhere extends Error {
  constructor(readonly current: Product) {
    super('changed elsewhere');
  }
}

function QuickEdit({ item }: { item: OwnProduct }) {
  const { t, i18n } = useTranslation();
  const { width } = useWindowDimensions();
  const companyId = useSession((s) => s.companyId);
  const queryClient = useQueryClient();
  // The list row carries stock, tiers and version: no detail read per row.
  const [p, setEditing] = useState<Editing>(item);
  const [baseline, setBaseline] = useState<QuickValues>(() => valuesOf(item));
  const [typed, setTyped] = useState<QuickValues>(() => valuesOf(item));
  const [invalid, setInvalid] = useState<Partial<Record<QuickField, 'invalid'>>>({});

  const save = useMutation({
    mutationFn: async () => {
      const { body, errors } = patchFor(p, baseline, typed);
      setInvalid(errors);
      if (Object.keys(errors).length || !Object.keys(body).length) return null;
      try {
        return await api.patch<Product>(`/products/${item.id}`, body, { headers: ifMatch(p.version) });
      } catch (error) {
        if (!isChangedElsewhere(error)) throw error;
        throw new ChangedElsewhere(await api.get<Product>(`/products/${item.id}`));
      }
    },
    onSuccess: (updated) => {
      if (!updated) return;
      queryClient.setQueryData(['product', item.id, companyId], updated);
      void queryClient.invalidateQueries({ queryKey: ['search'] });
      setEditing(updated);
      const values = valuesOf(updated);
      setBaseline(values);
      setTyped(values);
    },
    onError: (error) => {
      if (error instanceof ChangedElsewhere) {
        // The stored values and version become the new starting point; what was typed stays.
        queryClient.setQueryData(['product', item.id, companyId], error.current);
        setEditing(error.current);
        setBaseline(valuesOf(error.current));
      }
    },
  });
  const conflict = save.error instanceof ChangedElsewhere ? save.error : null;
  const problem = useProblem(conflict ? null : save.error);
  const apiFields = quickFieldErrors(problem.fields);
  const fieldError = (field: QuickField): string | null =>
    invalid[field] ? t('supplierProducts.invalidNumber') : apiFields.byField[field] ?? null;
  const wide = width >= WIDE;
  return (
    <Card testID="supplier-product">
      <View style={{ flexDirection: wide ? 'row' : 'column', gap: spacing.lg, alignItems: wide ? 'flex-start' : 'stretch' }}>
        <View style={{ flex: wide ? 1 : undefined, gap: 2 }}>
          <Link href={`/products/${item.id}`} style={{ color: colors.primary, fontWeight: '700', fontSize: 16 }} testID="supplier-product-name">
            {item.name}
          </Link>
          <Text style={styles.muted}>
            {t('product.sku')}: {item.sku} · <Text testID="supplier-product-status">{t(`supplierProducts.status.${item.status}`)}</Text>
          </Text>
          <Text style={{ color: colors.text }}>
            {t('supplierProducts.current', {
              stock: formatNumber(p.stock, i18n.language),
              unit: p.unit,
              price: p.price_tiers[0] ? formatMoney(p.price_tiers[0].unit_price, p.currency, i18n.language) : '—',
            })}
          </Text>
          {p.price_tiers.length > 1 ? <Text style={styles.muted}>{t('supplierProducts.otherTiers', { count: p.price_tiers.length - 1 })}</Text> : null}
        </View>
        <View style={{ flex: wide ? 1 : undefined, gap: spacing.xs }}>
          <View style={{ flexDirection: 'row', gap: spacing.md, flexWrap: 'wrap' }}>
            <View style={{ flexGrow: 1, minWidth: 130 }}>
              <Field
                label={t('supplierProducts.stock', { unit: p.unit })}
                value={typed.stock}
                onChangeText={(stock) => setTyped({ ...typed, stock })}
                inputMode="decimal"
                error={fieldError('stock')}
                testID="quick-stock"
              />
            </View>
            <View style={{ flexGrow: 1, minWidth: 130 }}>
              <Field
                label={t('supplierProducts.price', { currency: p.currency, qty: formatNumber(p.price_tiers[0]?.min_qty ?? p.moq, i18n.language) })}
                value={typed.price}
                onChangeText={(price) => setTyped({ ...typed, price })}
                inputMode="decimal"
                error={fieldError('price')}
                testID="quick-price"
              />
            </View>
          </View>
          <Button label={t('supplierProducts.save')} onPress={() => save.mutate()} busy={save.isPending} testID="quick-save" />
          {save.isSuccess && save.data ? <Notice tone="success">{t('supplierProducts.saved')}</Notice> : null}
          {save.isSuccess && !save.data && !Object.keys(invalid).length ? <Notice>{t('supplierProducts.unchanged')}</Notice> : null}
          {conflict ? (
            <Notice tone="error">
              {t('supplierProducts.changedElsewhere', {
                stock: formatNumber(conflict.current.stock, i18n.language),
                price: conflict.current.price_tiers[0] ? formatMoney(conflict.current.price_tiers[0].unit_price, conflict.current.currency, i18n.language) : '—',
              })}
            </Notice>
          ) : null}
          {problem.message && (!Object.keys(apiFields.byField).length || apiFields.other.length) ? (
            <Notice tone="error">{[problem.message, ...apiFields.other].join(' ')}</Notice>
          ) : null}
        </View>
      </View>
    </Card>
  );
}

export default function MyProducts() {
  const { t } = useTranslation();
  const session = useSession();
  const membership = activeMembership(session);
  const enabled = session.status === 'signed-in' && isSupplier(membership);
  const products = useInfiniteQuery({
    queryKey: ['products', 'mine', session.companyId],
    // Drafts and archived products too, each with its stock, tiers and version.
    queryFn: ({ pageParam }) => api.get<Page<OwnProduct>>('/products/mine', { query: { limit: 20, cursor: pageParam } }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    enabled,
  });
  const items = products.data?.pages.flatMap((page) => page.items) ?? [];
  if (session.status === 'signed-in' && !isSupplier(membership)) {
    return <View style={{ padding: spacing.lg }}><Notice>{t('dashboard.suppliersOnly')}</Notice></View>;
  }
  return (
    <FlatList
      data={items}
      keyExtractor={(item) => item.id}
      contentContainerStyle={{ padding: spacing.lg, gap: spacing.md }}
      onEndReached={() => {
        if (products.hasNextPage && !products.isFetchingNextPage) void products.fetchNextPage();
      }}
      ListHeaderComponent={
        <View style={{ gap: spacing.sm }}>
          <Heading>{t('supplierProducts.title')}</Heading>
          <Text style={styles.muted}>{t('supplierProducts.intro')}</Text>
          <OfflineNotice error={products.error} updatedAt={products.dataUpdatedAt} hasData={!!products.data} />
          {products.isPending && enabled ? <Skeleton lines={5} /> : null}
          {products.isSuccess && items.length === 0 ? <Text style={styles.muted}>{t('supplierProducts.empty')}</Text> : null}
        </View>
      }
      renderItem={({ item }) => <QuickEdit item={item} />}
      ListFooterComponent={products.isFetchingNextPage ? <Skeleton lines={2} /> : null}
    />
  );
}
