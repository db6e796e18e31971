import { router } from 'expo-router';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ScrollView } from 'react-native';

import { requestCode, verifyCode } from '../src/api';
import { config } from '../src/config';
import { useProblem } from '../src/components/useProblem';
import { Button, Card, Field, Heading, Notice } from '../src/components/ui';
import { spacing } from '../src/components/theme';
import { activeMembership, useSession } from '../src/stores/session';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE = /^\+[1-9][0-9 ]{6,17}$/;

export default function SignIn() {
  const { t } = useTranslation();
  const [identifier, setIdentifier] = useState('');
  const [challengeId, setChallengeId] = useState<string | null>(null);
  const [code, setCode] = useState(config.bypassOtp);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [invalid, setInvalid] = useState(false);
  const problem = useProblem(error);

  const send = async (): Promise<void> => {
    const value = identifier.trim();
    if (!EMAIL.test(value) && !PHONE.test(value)) {
      setInvalid(true);
      return;
    }
    setInvalid(false);
    setBusy(true);
    setError(null);
    try {
      const challenge = await requestCode(value);
      setChallengeId(challenge.challenge_id);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const verify = async (): Promise<void> => {
    if (!challengeId) return;
    setBusy(true);
    setError(null);
    try {
      await verifyCode(challengeId, code.trim());
      const state = useSession.getState();
      // A supplier's day starts with what waits for it; a buyer's with the catalog.
      const landing = activeMembership(state)?.company_kind === 'supplier' ? '/dashboard' : '/';
      router.replace((state.returnTo && state.returnTo !== '/sign-in' ? state.returnTo : landing) as never);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <ScrollView contentContainerStyle={{ padding: spacing.lg, maxWidth: 480, width: '100%', alignSelf: 'center' }}>
      <Heading>{t('signIn.title')}</Heading>
      <Card>
        {!challengeId ? (
          <>
            <Notice>{t('signIn.intro')}</Notice>
            <Field
              label={t('signIn.identifier')}
              value={identifier}
              onChangeText={setIdentifier}
              autoCapitalize="none"
              autoComplete="email"
              inputMode="email"
              onSubmitEditing={() => void send()}
              error={invalid ? t('signIn.invalidIdentifier') : problem.fields.email ?? problem.fields.phone ?? null}
              testID="identifier"
            />
            <Button label={t('signIn.sendCode')} onPress={() => void send()} busy={busy} testID="send-code" />
          </>
        ) : (
          <>
            <Notice tone="success">{t('signIn.codeSent', { destination: identifier })}</Notice>
            <Field
              label={t('signIn.code')}
              value={code}
              onChangeText={setCode}
              inputMode="numeric"
              autoComplete="one-time-code"
              onSubmitEditing={() => void verify()}
              testID="code"
            />
            <Button label={t('signIn.verify')} onPress={() => void verify()} busy={busy} testID="verify" />
            <Button label={t('signIn.changeIdentifier')} variant="secondary" onPress={() => setChallengeId(null)} />
          </>
        )}
        {problem.message ? <Notice tone="error">{problem.message}</Notice> : null}
      </Card>
    </ScrollView>
  );
}
