/** The user's language, remembered on the device; the device's language until chosen. */

import { create } from 'zustand';

import { deviceLanguage, i18n, isLanguage, type Language } from '../i18n';
import { AsyncStorage } from './storage';

export const LANGUAGE_KEY = 'mp.language';

interface PreferencesState {
  language: Language;
  hydrate(): Promise<void>;
  setLanguage(language: Language): Promise<void>;
}

export const usePreferences = create<PreferencesState>()((set) => ({
  language: deviceLanguage(),
  async hydrate() {
    const saved = await AsyncStorage.getItem(LANGUAGE_KEY);
    if (isLanguage(saved)) {
      set({ language: saved });
      await i18n.changeLanguage(saved);
    }
  },
  async setLanguage(language) {
    set({ language });
    await i18n.changeLanguage(language);
    await AsyncStorage.setItem(LANGUAGE_KEY, language);
  },
}));
