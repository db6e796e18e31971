import { Link, type Href } from 'expo-router';

import { colors, spacing } from './theme';

export function NavLink({ href, label }: { href: Href; label: string }) {
  return (
    <Link href={href} accessibilityRole="link" style={{ color: colors.primaryText, fontWeight: '600', paddingVertical: spacing.xs }}>
      {label}
    </Link>
  );
}
