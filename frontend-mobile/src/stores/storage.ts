/** Where things are kept on the device. Secrets go to the platform's keychain through
 * expo-secure-store on phones; the web keeps no secret at all (the API's HttpOnly session
 * cookie is the credential there). Everything else goes to AsyncStorage (localStorage on
 * the web). */

import AsyncStorage from '@react-native-async-storage/async-storage';
import * as SecureStore from 'expo-secure-store';
import { Platform } from 'react-native';
import { createJSONStorage, type StateStorage } from 'zustand/middleware';

export const isWeb = Platform.OS === 'web';

export const secrets = {
  async get(key: string): Promise<string | null> {
    if (isWeb) return null;
    return SecureStore.getItemAsync(key);
  },
  async set(key: string, value: string | null): Promise<void> {
    if (isWeb) return;
    if (value === null) await SecureStore.deleteItemAsync(key);
    else await SecureStore.setItemAsync(key, value);
  },
};

const asyncStorage: StateStorage = {
  getItem: (name) => AsyncStorage.getItem(name),
  setItem: (name, value) => AsyncStorage.setItem(name, value),
  removeItem: (name) => AsyncStorage.removeItem(name),
};

export const persistentStorage = createJSONStorage(() => asyncStorage);
export { AsyncStorage };
