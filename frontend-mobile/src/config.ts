/** Build-time configuration. Expo inlines `process.env.EXPO_PUBLIC_*` when each is read by
 * its literal name, so every variable is spelled out here once. */

export interface AppConfig {
  apiUrl: string;
  apiPrefix: string;
  bypassOtp: string;
  debug: boolean;
  sentryDsn: string;
  isProduction: boolean;
}

export function readConfig(env: Record<string, string | undefined>, isProduction: boolean): AppConfig {
  const bypassOtp = env.EXPO_PUBLIC_BYPASS_OTP ?? '';
  if (isProduction && bypassOtp !== '') {
    throw new Error('EXPO_PUBLIC_BYPASS_OTP must not be set in a production build');
  }
  return {
    apiUrl: (env.EXPO_PUBLIC_API_URL ?? '').replace(/\/+$/, ''),
    apiPrefix: env.EXPO_PUBLIC_API_PREFIX || '/api/v1',
    bypassOtp,
    debug: (env.EXPO_PUBLIC_DEBUG ?? '').toLowerCase() === 'true',
    sentryDsn: env.EXPO_PUBLIC_SENTRY_DSN ?? '',
    isProduction,
  };
}

export const config: AppConfig = readConfig(
  {
    EXPO_PUBLIC_API_URL: process.env.EXPO_PUBLIC_API_URL,
    EXPO_PUBLIC_API_PREFIX: process.env.EXPO_PUBLIC_API_PREFIX,
    EXPO_PUBLIC_BYPASS_OTP: process.env.EXPO_PUBLIC_BYPASS_OTP,
    EXPO_PUBLIC_DEBUG: process.env.EXPO_PUBLIC_DEBUG,
    EXPO_PUBLIC_SENTRY_DSN: process.env.EXPO_PUBLIC_SENTRY_DSN,
  },
  process.env.NODE_ENV === 'production',
);
