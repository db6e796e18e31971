import { useTranslation } from 'react-i18next';
import { View } from 'react-native';

import { mayBuy } from '../../src/components/rfq';
import { goToNewRfq, RfqList } from '../../src/components/RfqList';
import { Button } from '../../src/components/ui';
import { activeMembership, useSession } from '../../src/stores/session';

/** The buyer's requests for quotation and their status. */
export default function BuyerRfqs() {
  const { t } = useTranslation();
  const membership = useSession(activeMembership);
  // A company that only sells has no requests of its own: /rfqs is then its requests to answer.
  if (membership?.company_kind === 'supplier') return <RfqList role="supplier" title={t('rfq.inboxTitle')} empty={t('rfq.inboxEmpty')} />;
  return (
    <RfqList
      role="buyer"
      title={t('rfq.title')}
      empty={t('rfq.empty')}
      header={
        mayBuy(membership) ? (
          <View style={{ alignSelf: 'flex-start' }}>
            <Button label={t('rfq.new')} onPress={() => goToNewRfq()} testID="new-rfq" />
          </View>
        ) : null
      }
    />
  );
}
