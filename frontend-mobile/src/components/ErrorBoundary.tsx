/** Catches a screen's render errors, offers a retry, retries by itself after a pause, and
 * starts afresh when the user navigates elsewhere (the boundary is keyed by the route). */

import { Component, type ErrorInfo, type ReactNode } from 'react';
import { Text, View } from 'react-native';

import { i18n } from '../i18n';
import { reportError } from './reportError';
import { colors, spacing } from './theme';
import { Button } from './ui';

export const AUTO_RETRY_MS = 5000;
export const MAX_AUTO_RETRIES = 2;

interface State {
  error: Error | null;
  autoRetries: number;
}

export class ErrorBoundary extends Component<{ children: ReactNode; resetKey?: string }, State> {
  state: State = { error: null, autoRetries: 0 };
  private timer: ReturnType<typeof setTimeout> | null = null;

  static getDerivedStateFromError(error: Error): Partial<State> {
    return { error };
  }

  componentDidCatch(error: Error, info: ErrorInfo): void {
    reportError(error, { componentStack: info.componentStack ?? undefined });
    if (this.state.autoRetries < MAX_AUTO_RETRIES) {
      this.timer = setTimeout(() => this.retry(true), AUTO_RETRY_MS);
    }
  }

  componentDidUpdate(previous: { resetKey?: string }): void {
    if (previous.resetKey !== this.props.resetKey && this.state.error) {
      this.clearTimer();
      this.setState({ error: null, autoRetries: 0 });
    }
  }

  componentWillUnmount(): void {
    this.clearTimer();
  }

  retry = (automatic = false): void => {
    this.clearTimer();
    this.setState((state) => ({ error: null, autoRetries: automatic ? state.autoRetries + 1 : 0 }));
  };

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  render(): ReactNode {
    if (!this.state.error) return this.props.children;
    const willRetry = this.state.autoRetries < MAX_AUTO_RETRIES;
    return (
      <View accessibilityRole="alert" style={{ padding: spacing.xl, gap: spacing.md }} testID="error-boundary">
        <Text style={{ fontSize: 20, fontWeight: '700', color: colors.text }}>{i18n.t('errors.boundaryTitle')}</Text>
        {willRetry ? <Text style={{ color: colors.muted }}>{i18n.t('errors.boundaryAuto')}</Text> : null}
        <Button label={i18n.t('errors.boundaryRetry')} onPress={() => this.retry(false)} />
      </View>
    );
  }
}
