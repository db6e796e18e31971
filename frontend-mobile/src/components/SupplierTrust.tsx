/** A supplier's rating from completed orders and its on-time delivery rate, when the
 * trade record has any (the API gives null, never a made-up 0, without data). */

import { useTranslation } from 'react-i18next';
import { Text } from 'react-native';

import { localeOf } from '../i18n/format';
import { colors } from './theme';
import { useCompany } from './useCompany';

export function SupplierTrust({ supplierId }: { supplierId: string }) {
  const { t, i18n } = useTranslation();
  const company = useCompany(supplierId);
  const trust = company.data?.trust;
  if (!trust) return null;
  const locale = localeOf(i18n.language);
  return (
    <>
      {trust.rating_average !== null ? (
        <Text style={{ color: colors.text }} testID="supplier-rating">
          ★ {t('product.rating', { rating: new Intl.NumberFormat(locale, { maximumFractionDigits: 1 }).format(trust.rating_average), count: trust.review_count })}
        </Text>
      ) : (
        <Text style={{ color: colors.muted }}>{t('reviews.none')}</Text>
      )}
      {trust.on_time_delivery_rate !== null ? (
        <Text style={{ color: colors.text }}>
          {t('product.onTime', { rate: new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 0 }).format(trust.on_time_delivery_rate) })}
        </Text>
      ) : null}
    </>
  );
}
