/** The frame around every screen: navigation for the acting company's kind and role, the
 * backend status, the connection banner. One column on phones, a wide centred page on
 * desktops. */

import { Link } from 'expo-router';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { useWindowDimensions, View } from 'react-native';
import { SafeAreaView } from 'react-native-safe-area-context';

import { activeMembership, canApprove, isBuyer, isSupplier, useSession } from '../stores/session';
import { BackendStatus } from './BackendStatus';
import { ConnectionBanner } from './ConnectionBanner';
import { NavLink } from './NavLink';
import { NotificationsNavLink } from './NotificationsNavLink';
import { colors, spacing } from './theme';

export const WIDE = 900;

export function Shell({ children }: { children: ReactNode }) {
  const { t } = useTranslation();
  const { width } = useWindowDimensions();
  const session = useSession();
  const membership = activeMembership(session);
  const signedIn = session.status === 'signed-in';
  return (
    <SafeAreaView style={{ flex: 1, backgroundColor: colors.background }}>
      <View
        role="banner"
        style={{ backgroundColor: colors.primary, paddingHorizontal: spacing.lg, paddingVertical: spacing.sm, gap: spacing.xs }}
      >
        <View style={{ flexDirection: 'row', alignItems: 'center', justifyContent: 'space-between', flexWrap: 'wrap', gap: spacing.sm }}>
          <Link href="/" accessibilityRole="link" style={{ color: colors.primaryText, fontSize: 20, fontWeight: '700' }}>
            {t('app.name')}
          </Link>
          <View style={{ backgroundColor: colors.surface, borderRadius: 12, paddingHorizontal: spacing.sm, paddingVertical: 2 }}>
            <BackendStatus />
          </View>
        </View>
        <View role="navigation" style={{ flexDirection: 'row', flexWrap: 'wrap', columnGap: spacing.lg }}>
          {signedIn && isSupplier(membership) ? <NavLink href="/dashboard" label={t('nav.dashboard')} /> : null}
          <NavLink href="/search" label={t('nav.search')} />
          {signedIn && isBuyer(membership) ? <NavLink href="/cart" label={t('nav.cart')} /> : null}
          {signedIn ? <NavLink href="/orders" label={t('nav.orders')} /> : null}
          {signedIn && isBuyer(membership) && canApprove(membership) ? <NavLink href="/approvals" label={t('nav.approvals')} /> : null}
          {signedIn && isBuyer(membership) ? <NavLink href="/rfqs" label={t('rfq.navBuyer')} /> : null}
          {signedIn && isSupplier(membership) ? <NavLink href="/rfqs/inbox" label={t('rfq.navSupplier')} /> : null}
          {signedIn && isSupplier(membership) ? <NavLink href="/my-products" label={t('nav.products')} /> : null}
          {signedIn ? <NavLink href="/messages" label={t('messages.title')} /> : null}
          {signedIn ? <NotificationsNavLink /> : null}
          {signedIn ? <NavLink href="/account" label={t('nav.account')} /> : <NavLink href="/sign-in" label={t('nav.signIn')} />}
        </View>
      </View>
      <ConnectionBanner />
      <View role="main" style={{ flex: 1, width: '100%', maxWidth: width >= WIDE ? 1200 : undefined, alignSelf: 'center' }}>
        {children}
      </View>
    </SafeAreaView>
  );
}
