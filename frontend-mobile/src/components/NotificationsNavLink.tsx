/** "Notifications (3)": the unread count, refreshed when the live connection says a new
 * notification arrived (live.ts invalidates every `notifications` query). */

import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';

import { api } from '../api';
import { useSession } from '../stores/session';
import { NavLink } from './NavLink';

export function NotificationsNavLink() {
  const { t } = useTranslation();
  const userId = useSession((s) => s.me?.id);
  const unread = useQuery({
    queryKey: ['notifications', userId, 'unread'],
    queryFn: () => api.get<{ unread: number }>('/notifications/unread-count', { background: true }),
    enabled: !!userId,
  });
  const count = unread.data?.unread ?? 0;
  return <NavLink href={'/notifications' as never} label={count ? t('notifications.navUnread', { count }) : t('nav.notifications')} />;
}
