import { useQuery } from '@tanstack/react-query';
import { Link, router } from 'expo-router';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ScrollView, View } from 'react-native';

import { api } from '../src/api';
import type { CategoryNode } from '../src/api/types';
import { OfflineNotice } from '../src/components/OfflineNotice';
import { colors, spacing } from '../src/components/theme';
import { Button, Card, Field, Heading, Skeleton } from '../src/components/ui';
import { useSession } from '../src/stores/session';

export default function Home() {
  const { t } = useTranslation();
  const [query, setQuery] = useState('');
  const me = useSession((s) => s.me);
  const categories = useQuery({
    queryKey: ['categories'],
    queryFn: () => api.get<{ items: CategoryNode[] }>('/categories'),
    staleTime: 5 * 60_000,
  });
  const search = (): void => router.push({ pathname: '/search', params: { q: query.trim() } });
  return (
    <ScrollView contentContainerStyle={{ padding: spacing.lg, gap: spacing.lg }}>
      <Heading>{me ? t('home.welcome', { name: me.name || me.email || '' }) : t('home.title')}</Heading>
      <View style={{ flexDirection: 'row', gap: spacing.sm, alignItems: 'flex-end', flexWrap: 'wrap' }}>
        <View style={{ flexGrow: 1, minWidth: 240 }}>
          <Field
            label={t('nav.search')}
            placeholder={t('home.searchPlaceholder')}
            value={query}
            onChangeText={setQuery}
            onSubmitEditing={search}
            inputMode="search"
            testID="home-search"
          />
        </View>
        <View style={{ marginBottom: spacing.md }}>
          <Button label={t('nav.search')} onPress={search} />
        </View>
      </View>
      <Heading level={2}>{t('home.categories')}</Heading>
      <OfflineNotice error={categories.error} updatedAt={categories.dataUpdatedAt} hasData={!!categories.data} />
      {categories.isPending ? <Skeleton lines={4} /> : null}
      <View style={{ flexDirection: 'row', flexWrap: 'wrap', gap: spacing.md }}>
        {categories.data?.items.map((category) => (
          <Card key={category.id}>
            <Link
              href={{ pathname: '/search', params: { category: category.slug } }}
              style={{ color: colors.primary, fontWeight: '600', fontSize: 16 }}
            >
              {category.name}
            </Link>
          </Card>
        ))}
      </View>
    </ScrollView>
  );
}
