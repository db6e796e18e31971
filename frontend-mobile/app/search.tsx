import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { Image } from 'expo-image';
import { Link, router, useLocalSearchParams } from 'expo-router';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { FlatList, Pressable, Switch, Text, useWindowDimensions, View } from 'react-native';

import { api } from '../src/api';
import type { Page, ProductFacets, ProductSearchItem } from '../src/api/types';
import { OfflineNotice } from '../src/components/OfflineNotice';
import { WIDE } from '../src/components/Shell';
import { colors, spacing } from '../src/components/theme';
import { Button, Field, Heading, Skeleton, styles } from '../src/components/ui';
import { formatMoney } from '../src/i18n/format';

function ProductCard({ item }: { item: ProductSearchItem }) {
  const { t, i18n } = useTranslation();
  const price = item.your_price ?? item.unit_price ?? item.base_price;
  return (
    <Link href={`/products/${item.id}`} asChild>
      <Pressable
        accessibilityRole="link"
        testID="product-card"
        style={{ flex: 1, flexDirection: 'row', gap: spacing.md, backgroundColor: colors.surface, borderRadius: 8, borderWidth: 1, borderColor: colors.border, padding: spacing.md, margin: spacing.xs }}
      >
        {item.thumbnail_url ? (
          <Image source={{ uri: item.thumbnail_url }} style={{ width: 72, height: 72, borderRadius: 4 }} accessibilityIgnoresInvertColors alt={item.name} accessibilityLabel={item.name} cachePolicy="memory-disk" />
        ) : (
          <View style={{ width: 72, height: 72, borderRadius: 4, backgroundColor: colors.background }} />
        )}
        <View style={{ flex: 1, gap: 2 }}>
          <Text style={{ fontWeight: '600', color: colors.text, fontSize: 16 }} testID="product-name">{item.name}</Text>
          <Text style={styles.muted}>{item.supplier.name}</Text>
          {price ? <Text style={{ color: colors.text, fontWeight: '600' }}>{formatMoney(price, item.currency, i18n.language)} / {item.unit}</Text> : null}
          <Text style={styles.muted}>
            {t('product.moq', { qty: item.moq, unit: item.unit })} · {item.in_stock ? t('product.stock', { qty: '✓' }) : t('product.outOfStock')}
          </Text>
        </View>
      </Pressable>
    </Link>
  );
}

export default function Search() {
  const { t } = useTranslation();
  const params = useLocalSearchParams<{ q?: string; category?: string; in_stock?: string }>();
  const { width } = useWindowDimensions();
  const [text, setText] = useState(params.q ?? '');
  const [inStock, setInStock] = useState(params.in_stock === 'true');
  const q = params.q ?? '';
  const category = params.category ?? '';
  useEffect(() => setText(params.q ?? ''), [params.q]);
  const filters = { q, category, in_stock: inStock ? 'true' : undefined };
  const results = useInfiniteQuery({
    queryKey: ['search', filters],
    queryFn: ({ pageParam }) => api.get<Page<ProductSearchItem>>('/products', { query: { ...filters, limit: 20, cursor: pageParam } }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const facets = useQuery({
    queryKey: ['facets', filters],
    queryFn: () => api.get<ProductFacets>('/products/facets', { query: filters, background: true }),
  });
  const items = results.data?.pages.flatMap((page) => page.items) ?? [];
  const columns = width >= 1200 ? 3 : width >= WIDE ? 2 : 1;
  const submit = (): void => router.setParams({ q: text.trim() });
  const topCategories = (facets.data?.categories ?? []).filter((c) => c.count > 0).slice(0, 8);

  return (
    <FlatList
      key={columns}
      numColumns={columns}
      data={items}
      keyExtractor={(item) => item.id}
      renderItem={({ item }) => <ProductCard item={item} />}
      contentContainerStyle={{ padding: spacing.lg }}
      onEndReachedThreshold={0.5}
      onEndReached={() => {
        if (results.hasNextPage && !results.isFetchingNextPage) void results.fetchNextPage();
      }}
      ListHeaderComponent={
        <View style={{ gap: spacing.sm, marginBottom: spacing.md }}>
          <Heading>{t('search.title')}</Heading>
          <View style={{ flexDirection: 'row', gap: spacing.sm, alignItems: 'flex-end', flexWrap: 'wrap' }}>
            <View style={{ flexGrow: 1, minWidth: 220 }}>
              <Field label={t('nav.search')} placeholder={t('home.searchPlaceholder')} value={text} onChangeText={setText} onSubmitEditing={submit} inputMode="search" testID="search-input" />
            </View>
            <View style={{ marginBottom: spacing.md }}>
              <Button label={t('nav.search')} onPress={submit} testID="search-submit" />
            </View>
          </View>
          <View style={styles.row}>
            <Switch value={inStock} onValueChange={setInStock} accessibilityLabel={t('search.inStock')} />
            <Text style={{ color: colors.text }}>{t('search.inStock')}</Text>
          </View>
          {topCategories.length ? (
            <View style={styles.row} accessibilityLabel={t('search.category')}>
              {category ? <Button variant="secondary" label={t('search.allCategories')} onPress={() => router.setParams({ category: '' })} /> : null}
              {topCategories.map((facet) => (
                <Button key={facet.id} variant="secondary" label={`${facet.name} (${facet.count})`} onPress={() => router.setParams({ category: facet.slug })} />
              ))}
            </View>
          ) : null}
          {facets.data ? <Text style={styles.muted}>{t('search.results', { count: facets.data.total })}</Text> : null}
          <OfflineNotice error={results.error} updatedAt={results.dataUpdatedAt} hasData={!!results.data} />
          {results.isPending ? <Skeleton lines={5} /> : null}
          {results.isSuccess && items.length === 0 ? <Text style={styles.muted}>{t('search.noResults', { query: q })}</Text> : null}
        </View>
      }
      ListFooterComponent={results.isFetchingNextPage ? <Text style={styles.muted}>{t('search.loadMore')}</Text> : null}
    />
  );
}
