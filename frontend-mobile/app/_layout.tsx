import { PersistQueryClientProvider } from '@tanstack/react-query-persist-client';
import { Slot, usePathname } from 'expo-router';
import { useEffect } from 'react';
import { I18nextProvider } from 'react-i18next';

import { resumeSession } from '../src/api';
import { CACHE_BUSTER, OFFLINE_MAX_AGE_MS, persister, queryClient, shouldPersist } from '../src/api/query';
import { ErrorBoundary } from '../src/components/ErrorBoundary';
import { startErrorReporting } from '../src/components/sentry';
import { Shell } from '../src/components/Shell';
import { useLiveUpdates } from '../src/api/live';
import { i18n } from '../src/i18n';
import { usePreferences } from '../src/stores/preferences';

export default function RootLayout() {
  const pathname = usePathname();
  useEffect(() => {
    void usePreferences.getState().hydrate();
    void resumeSession();
    // After the first screen, and only with a DSN: the SDK is not part of the launch.
    void startErrorReporting();
  }, []);
  useLiveUpdates();
  return (
    <I18nextProvider i18n={i18n}>
      <PersistQueryClientProvider
        client={queryClient}
        persistOptions={{
          persister,
          maxAge: OFFLINE_MAX_AGE_MS,
          buster: CACHE_BUSTER,
          dehydrateOptions: { shouldDehydrateQuery: shouldPersist },
        }}
        // Saved copies are shown at once, then checked again: restored data keeps the age it
        // had when saved, so without this a reload within `staleTime` would show it as fresh.
        onSuccess={() => void queryClient.invalidateQueries()}
      >
        <Shell>
          <ErrorBoundary resetKey={pathname}>
            <Slot />
          </ErrorBoundary>
        </Shell>
      </PersistQueryClientProvider>
    </I18nextProvider>
  );
}
