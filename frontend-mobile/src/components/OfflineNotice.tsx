import { useTranslation } from 'react-i18next';

import { isOfflineCopy } from '../api/query';
import { formatAge } from '../i18n/format';
import { useConnection } from '../stores/connection';
import { Notice } from './ui';

/** "Offline copy from 5 minutes ago" above data the network could not refresh. */
export function OfflineNotice({ error, updatedAt, hasData }: { error: unknown; updatedAt: number; hasData: boolean }) {
  const { t, i18n } = useTranslation();
  const deviceOffline = useConnection((s) => s.deviceOffline);
  if (!isOfflineCopy(error, hasData) && !(deviceOffline && hasData)) return null;
  return <Notice>{t('offline.copy', { age: formatAge(updatedAt, i18n.language) })}</Notice>;
}
