/** Small accessible building blocks: every control has a role and a label. */

import type { ReactNode } from 'react';
import { ActivityIndicator, Pressable, StyleSheet, Text, TextInput, type TextInputProps, View } from 'react-native';

import { colors, spacing } from './theme';

export function Button({
  label,
  onPress,
  disabled,
  busy,
  variant = 'primary',
  testID,
}: {
  label: string;
  onPress: () => void;
  disabled?: boolean;
  busy?: boolean;
  variant?: 'primary' | 'secondary' | 'danger';
  testID?: string;
}) {
  const inactive = disabled || busy;
  return (
    <Pressable
      accessibilityRole="button"
      accessibilityLabel={label}
      accessibilityState={{ disabled: !!inactive, busy: !!busy }}
      disabled={inactive}
      onPress={onPress}
      testID={testID}
      style={({ pressed }) => [
        styles.button,
        variant === 'secondary' && styles.secondary,
        variant === 'danger' && styles.danger,
        (pressed || inactive) && styles.pressed,
      ]}
    >
      {busy ? <ActivityIndicator color={variant === 'secondary' ? colors.primary : colors.primaryText} /> : null}
      <Text style={[styles.buttonText, variant === 'secondary' && styles.secondaryText]}>{label}</Text>
    </Pressable>
  );
}

export function Field({
  label,
  error,
  ...input
}: TextInputProps & { label: string; error?: string | null }) {
  return (
    <View style={styles.field}>
      <Text style={styles.label} nativeID={`label-${label}`}>
        {label}
      </Text>
      <TextInput
        accessibilityLabel={label}
        aria-invalid={!!error}
        placeholderTextColor={colors.muted}
        style={[styles.input, !!error && styles.inputError]}
        {...input}
      />
      {error ? (
        <Text style={styles.error} accessibilityRole="alert">
          {error}
        </Text>
      ) : null}
    </View>
  );
}

export function Card({ children, testID }: { children: ReactNode; testID?: string }) {
  return (
    <View style={styles.card} testID={testID}>
      {children}
    </View>
  );
}

export function Heading({ children, level = 1 }: { children: ReactNode; level?: 1 | 2 | 3 }) {
  return (
    <Text accessibilityRole="header" aria-level={level} style={level === 1 ? styles.h1 : level === 2 ? styles.h2 : styles.h3}>
      {children}
    </Text>
  );
}

export function Notice({ children, tone = 'info' }: { children: ReactNode; tone?: 'info' | 'error' | 'success' }) {
  return (
    <View
      accessibilityRole={tone === 'error' ? 'alert' : 'text'}
      style={[styles.notice, tone === 'error' && styles.noticeError, tone === 'success' && styles.noticeSuccess]}
    >
      <Text style={[styles.noticeText, tone === 'error' && { color: colors.danger }]}>{children}</Text>
    </View>
  );
}

export function Skeleton({ lines = 3 }: { lines?: number }) {
  return (
    <View accessibilityLabel="loading" accessibilityRole="progressbar" style={{ gap: spacing.sm }}>
      {Array.from({ length: lines }, (_, i) => (
        <View key={i} style={[styles.skeleton, { width: `${90 - i * 15}%` }]} />
      ))}
    </View>
  );
}

export const styles = StyleSheet.create({
  button: {
    flexDirection: 'row',
    gap: spacing.sm,
    alignItems: 'center',
    justifyContent: 'center',
    backgroundColor: colors.primary,
    paddingHorizontal: spacing.lg,
    paddingVertical: spacing.md,
    borderRadius: 6,
    minHeight: 44,
  },
  secondary: { backgroundColor: colors.surface, borderWidth: 1, borderColor: colors.primary },
  danger: { backgroundColor: colors.danger },
  pressed: { opacity: 0.7 },
  buttonText: { color: colors.primaryText, fontWeight: '600', fontSize: 16 },
  secondaryText: { color: colors.primary },
  field: { gap: spacing.xs, marginBottom: spacing.md },
  label: { color: colors.text, fontWeight: '600' },
  input: {
    borderWidth: 1,
    borderColor: colors.border,
    borderRadius: 6,
    padding: spacing.md,
    fontSize: 16,
    color: colors.text,
    backgroundColor: colors.surface,
    minHeight: 44,
  },
  inputError: { borderColor: colors.danger },
  error: { color: colors.danger },
  card: {
    backgroundColor: colors.surface,
    borderRadius: 8,
    borderWidth: 1,
    borderColor: colors.border,
    padding: spacing.lg,
    gap: spacing.sm,
  },
  h1: { fontSize: 26, fontWeight: '700', color: colors.text, marginBottom: spacing.md },
  h2: { fontSize: 20, fontWeight: '700', color: colors.text, marginBottom: spacing.sm },
  h3: { fontSize: 17, fontWeight: '600', color: colors.text },
  notice: { padding: spacing.md, borderRadius: 6, backgroundColor: colors.warningBackground },
  noticeError: { backgroundColor: '#fdecea' },
  noticeSuccess: { backgroundColor: colors.successBackground },
  noticeText: { color: colors.text },
  skeleton: { height: 16, borderRadius: 4, backgroundColor: '#e4e8ec' },
  muted: { color: colors.muted },
  row: { flexDirection: 'row', alignItems: 'center', gap: spacing.sm, flexWrap: 'wrap' },
});
