/** Small pieces the RFQ screens share: radios, checkboxes, a status badge and the RFQ's
 * items. */

import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Pressable, Text, View, type ViewStyle } from 'react-native';

import type { Rfq } from '../api/rfqTypes';
import { formatMoney, formatNumber } from '../i18n/format';
import { colors, spacing } from './theme';
import { styles } from './ui';

/** A labelled group of radio buttons (payment terms, addresses). */
export function Choice<T extends string>({
  label,
  options,
  value,
  onChange,
  error,
  testID,
}: {
  label: string;
  options: { value: T; label: string }[];
  value: T | null;
  onChange: (value: T) => void;
  error?: string | null;
  testID?: string;
}) {
  return (
    <View style={{ gap: spacing.xs, marginBottom: spacing.md }} role="radiogroup" aria-label={label} testID={testID}>
      <Text style={{ color: colors.text, fontWeight: '600' }}>{label}</Text>
      <View style={styles.row}>
        {options.map((option) => (
          <Radio key={option.value} label={option.label} checked={option.value === value} onPress={() => onChange(option.value)} testID={testID ? `${testID}-${option.value}` : undefined} />
        ))}
      </View>
      {error ? (
        <Text style={{ color: colors.danger }} accessibilityRole="alert">
          {error}
        </Text>
      ) : null}
    </View>
  );
}

export function Radio({
  label,
  checked,
  onPress,
  children,
  testID,
  disabled,
}: {
  label: string;
  checked: boolean;
  onPress: () => void;
  children?: ReactNode;
  testID?: string;
  disabled?: boolean;
}) {
  return (
    <Pressable
      accessibilityRole="radio"
      accessibilityLabel={label}
      accessibilityState={{ checked, disabled: !!disabled }}
      aria-checked={checked}
      disabled={disabled}
      onPress={onPress}
      testID={testID}
      style={choiceStyle(checked)}
    >
      <View
        style={{
          width: 18,
          height: 18,
          borderRadius: 9,
          borderWidth: 2,
          borderColor: checked ? colors.primary : colors.muted,
          alignItems: 'center',
          justifyContent: 'center',
        }}
      >
        {checked ? <View style={{ width: 8, height: 8, borderRadius: 4, backgroundColor: colors.primary }} /> : null}
      </View>
      {children ?? <Text style={{ color: colors.text }}>{label}</Text>}
    </Pressable>
  );
}

/** The card around a radio or a checkbox: a 44 px target, marked when chosen. */
function choiceStyle(checked: boolean): ViewStyle {
  return {
    flexDirection: 'row',
    alignItems: 'center',
    gap: spacing.sm,
    minHeight: 44,
    paddingHorizontal: spacing.md,
    paddingVertical: spacing.sm,
    borderRadius: 6,
    borderWidth: checked ? 2 : 1,
    borderColor: checked ? colors.primary : colors.border,
    backgroundColor: checked ? '#e8f1fb' : colors.surface,
  };
}

export function Checkbox({ label, checked, onPress, testID, detail }: { label: string; checked: boolean; onPress: () => void; testID?: string; detail?: string }) {
  return (
    <Pressable
      accessibilityRole="checkbox"
      accessibilityLabel={detail ? `${label}, ${detail}` : label}
      accessibilityState={{ checked }}
      aria-checked={checked}
      onPress={onPress}
      testID={testID}
      style={choiceStyle(checked)}
    >
      <View style={{ width: 18, height: 18, borderRadius: 3, borderWidth: 2, borderColor: checked ? colors.primary : colors.muted, backgroundColor: checked ? colors.primary : colors.surface, alignItems: 'center', justifyContent: 'center' }}>
        {checked ? <Text style={{ color: colors.primaryText, fontSize: 12, lineHeight: 14, fontWeight: '700' }}>✓</Text> : null}
      </View>
      <Text style={{ color: colors.text, fontWeight: '600' }}>{label}</Text>
      {detail ? <Text style={{ color: colors.muted }}>{detail}</Text> : null}
    </Pressable>
  );
}

const TONES: Record<string, { fg: string; bg: string }> = {
  draft: { fg: colors.muted, bg: '#eceff2' },
  open: { fg: colors.primary, bg: '#e8f1fb' },
  submitted: { fg: colors.primary, bg: '#e8f1fb' },
  awarded: { fg: colors.success, bg: colors.successBackground },
  accepted: { fg: colors.success, bg: colors.successBackground },
  closed: { fg: colors.muted, bg: '#eceff2' },
  cancelled: { fg: colors.danger, bg: '#fdecea' },
  rejected: { fg: colors.danger, bg: '#fdecea' },
  withdrawn: { fg: colors.muted, bg: '#eceff2' },
  expired: { fg: colors.warning, bg: colors.warningBackground },
};

/** A status as a coloured label; the text says it, the colour only repeats it. */
export function StatusBadge({ label, status, testID }: { label: string; status: string; testID?: string }) {
  const tone = TONES[status] ?? TONES.draft;
  return (
    <View style={{ alignSelf: 'flex-start', backgroundColor: tone.bg, borderRadius: 12, paddingHorizontal: spacing.sm, paddingVertical: 2 }}>
      <Text style={{ color: tone.fg, fontWeight: '700', fontSize: 13 }} testID={testID}>
        {label}
      </Text>
    </View>
  );
}

/** The RFQ's items as the buyer described them. */
export function RfqItems({ rfq }: { rfq: Rfq }) {
  const { t, i18n } = useTranslation();
  return (
    <View accessibilityRole="list" style={{ gap: spacing.xs }}>
      {rfq.items.map((item) => (
        <View key={item.id} role="listitem" style={{ flexDirection: 'row', gap: spacing.sm }}>
          <Text style={{ color: colors.muted, width: 24 }}>{item.position}.</Text>
          <View style={{ flex: 1 }}>
            <Text style={{ color: colors.text, fontWeight: '600' }}>{item.description || t('rfq.catalogItem')}</Text>
            <Text style={{ color: colors.text }}>
              {formatNumber(item.quantity, i18n.language)} {item.unit}
              {item.target_unit_price ? ` · ${t('rfq.target', { price: formatMoney(item.target_unit_price, rfq.currency, i18n.language) })}` : ''}
            </Text>
            {item.awarded_supplier_name ? (
              <Text style={{ color: colors.success, fontWeight: '700' }} testID="item-award">
                ✓ {t('rfq.awardedTo', { supplier: item.awarded_supplier_name })}
              </Text>
            ) : null}
          </View>
        </View>
      ))}
    </View>
  );
}
