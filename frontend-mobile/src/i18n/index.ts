/** i18next with the device's language (expo-localization), in the API's four languages.
 * The API is told the same language (Accept-Language), so its problem messages match. */

import { getLocales } from 'expo-localization';
import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';
import { Platform } from 'react-native';

import de from './locales/de.json';
import en from './locales/en.json';
import es from './locales/es.json';
import fr from './locales/fr.json';

export const LANGUAGES = ['en', 'de', 'fr', 'es'] as const;
export type Language = (typeof LANGUAGES)[number];
export const resources = { en, de, fr, es } as const;

export function isLanguage(value: string | null | undefined): value is Language {
  return !!value && (LANGUAGES as readonly string[]).includes(value);
}

/** The device's preferred language tags, best first. A browser names them itself: the
 * web version of `getLocales` works out number separators and more for each of them
 * through `Intl`, about a tenth of a second of a throttled launch for two tags. */
function preferredTags(): readonly string[] {
  const browser = Platform.OS === 'web' ? (globalThis as { navigator?: { languages?: readonly string[]; language?: string } }).navigator : undefined;
  if (browser?.languages?.length) return browser.languages;
  if (browser?.language) return [browser.language];
  return getLocales().map((locale) => locale.languageCode ?? locale.languageTag);
}

let device: Language | null = null;

/** The first of the device's preferred languages that the app speaks, else English
 * (worked out once: the i18n set-up and the preferences store both ask at start). */
export function deviceLanguage(): Language {
  if (device) return device;
  device = preferredTags().map((tag) => tag.split('-')[0].toLowerCase()).find(isLanguage) ?? 'en';
  return device;
}

export const i18n = i18next.createInstance();

void i18n.use(initReactI18next).init({
  resources: Object.fromEntries(Object.entries(resources).map(([lng, tr]) => [lng, { translation: tr }])),
  lng: deviceLanguage(),
  fallbackLng: 'en',
  interpolation: { escapeValue: false },
  returnNull: false,
});
