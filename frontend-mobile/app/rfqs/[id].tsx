import { useQuery } from '@tanstack/react-query';
import { useLocalSearchParams } from 'expo-router';
import { useTranslation } from 'react-i18next';
import { View } from 'react-native';

import { api } from '../../src/api';
import type { Rfq } from '../../src/api/rfqTypes';
import { RfqBuyerView } from '../../src/components/RfqBuyerView';
import { RfqSupplierView } from '../../src/components/RfqSupplierView';
import { spacing } from '../../src/components/theme';
import { Notice, Skeleton } from '../../src/components/ui';
import { useProblem } from '../../src/components/useProblem';
import { useSession } from '../../src/stores/session';

/** One RFQ: the buyer's comparison and award, or the invited supplier's quote form. A
 * company that both buys and sells sees the side it is on for this request. */
export default function RfqScreen() {
  const { id, sent } = useLocalSearchParams<{ id: string; sent?: string }>();
  const { t } = useTranslation();
  const session = useSession();
  const rfq = useQuery({
    queryKey: ['rfq', id, session.companyId],
    queryFn: () => api.get<Rfq>(`/rfqs/${id}`),
    enabled: session.status === 'signed-in',
    staleTime: 0,
  });
  const problem = useProblem(rfq.error);
  if (session.status === 'signed-out') return <View style={{ padding: spacing.lg }}><Notice>{t('rfq.signInFirst')}</Notice></View>;
  if (!rfq.data) {
    return (
      <View style={{ padding: spacing.lg }}>
        {rfq.isError ? <Notice tone="error">{problem.message}</Notice> : <Skeleton lines={6} />}
      </View>
    );
  }
  if (rfq.data.buyer_id === session.companyId) return <RfqBuyerView rfq={rfq.data} sentTo={sent ? Number(sent) : null} error={rfq.error} updatedAt={rfq.dataUpdatedAt} />;
  return <RfqSupplierView rfq={rfq.data} error={rfq.error} updatedAt={rfq.dataUpdatedAt} />;
}
