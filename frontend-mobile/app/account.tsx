import { router } from 'expo-router';
import { useTranslation } from 'react-i18next';
import { ScrollView, Text, View } from 'react-native';

import { signOut } from '../src/api';
import { queryClient } from '../src/api/query';
import { NotificationPreferences } from '../src/components/NotificationPreferences';
import { colors, spacing } from '../src/components/theme';
import { Button, Card, Heading, styles } from '../src/components/ui';
import { LANGUAGES } from '../src/i18n';
import { usePreferences } from '../src/stores/preferences';
import { useSession } from '../src/stores/session';

const LANGUAGE_NAMES = { en: 'English', de: 'Deutsch', fr: 'Français', es: 'Español' } as const;

export default function Account() {
  const { t } = useTranslation();
  const session = useSession();
  const { language, setLanguage } = usePreferences();
  return (
    <ScrollView contentContainerStyle={{ padding: spacing.lg, gap: spacing.lg }}>
      <Heading>{t('account.title')}</Heading>
      {session.me ? (
        <Card>
          <Text style={{ color: colors.text, fontWeight: '600' }}>{session.me.name}</Text>
          <Text style={styles.muted}>{session.me.email ?? session.me.phone}</Text>
        </Card>
      ) : null}
      {session.me && session.me.companies.length > 0 ? (
        <Card>
          <Heading level={2}>{t('account.company')}</Heading>
          <View style={styles.row}>
            {session.me.companies.map((m) => (
              <Button
                key={m.company_id}
                label={`${m.company_name} (${m.role})`}
                variant={m.company_id === session.companyId ? 'primary' : 'secondary'}
                onPress={() => {
                  void session.selectCompany(m.company_id);
                  void queryClient.invalidateQueries();
                }}
              />
            ))}
          </View>
        </Card>
      ) : null}
      <Card>
        <Heading level={2}>{t('account.language')}</Heading>
        <View style={styles.row}>
          {LANGUAGES.map((code) => (
            <Button key={code} label={LANGUAGE_NAMES[code]} variant={code === language ? 'primary' : 'secondary'} onPress={() => void setLanguage(code)} testID={`language-${code}`} />
          ))}
        </View>
      </Card>
      {session.status === 'signed-in' ? <NotificationPreferences /> : null}
      {session.status === 'signed-in' ? (
        <Button
          variant="danger"
          label={t('account.signOut')}
          onPress={() => {
            void signOut().finally(() => {
              queryClient.clear();
              router.replace('/');
            });
          }}
        />
      ) : null}
    </ScrollView>
  );
}
