import { useTranslation } from 'react-i18next';

import { RfqList } from '../../src/components/RfqList';

/** Requests for quotation a supplier is invited to, or may quote on. */
export default function SupplierRfqs() {
  const { t } = useTranslation();
  return <RfqList role="supplier" title={t('rfq.inboxTitle')} empty={t('rfq.inboxEmpty')} />;
}
