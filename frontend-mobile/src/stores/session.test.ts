import * as SecureStore from 'expo-secure-store';
import { Platform } from 'react-native';

import type { Me } from '../api/types';
import { chooseCompany, readCookie, REFRESH_TOKEN_KEY, useSession } from './session';

const me: Me = {
  id: 'u1',
  email: 'owner@hansen-bau.example',
  phone: null,
  name: 'Anna Hansen',
  locale: 'de',
  is_staff: false,
  created_at: '2026-01-01T00:00:00Z',
  companies: [
    { company_id: 'c1', company_name: 'Hansen Bau', company_kind: 'buyer', verification_status: 'verified', role: 'owner', spending_limit: null },
    { company_id: 'c2', company_name: 'Nordbolt', company_kind: 'supplier', verification_status: 'verified', role: 'sales', spending_limit: null },
  ],
};

it('picks the remembered company while it is still a membership', () => {
  expect(chooseCompany(me, 'c2')).toBe('c2');
  expect(chooseCompany(me, 'gone')).toBe('c1');
  expect(chooseCompany({ ...me, companies: [] }, null)).toBeNull();
});

it('reads the CSRF cookie', () => {
  expect(readCookie('mp_csrf', 'a=1; mp_csrf=abc%3D; b=2')).toBe('abc=');
  expect(readCookie('mp_csrf', 'a=1')).toBeNull();
});

const setSecret = jest.spyOn(SecureStore, 'setItemAsync');
const deleteSecret = jest.spyOn(SecureStore, 'deleteItemAsync');

if (Platform.OS === 'web') {
  it('keeps no token anywhere a script could read it on the web', async () => {
    await useSession.getState().setTokens({ access_token: 'a', refresh_token: 'r', token_type: 'bearer', expires_in: 900 });
    expect(useSession.getState().mode).toBe('cookie');
    expect(setSecret).not.toHaveBeenCalled();
  });
} else {
  it('keeps the refresh token in SecureStore and forgets it on sign-out', async () => {
    await useSession.getState().setTokens({ access_token: 'a', refresh_token: 'r-1', token_type: 'bearer', expires_in: 900 });
    expect(useSession.getState().mode).toBe('token');
    expect(setSecret).toHaveBeenCalledWith(REFRESH_TOKEN_KEY, 'r-1');
    await useSession.getState().signedOut('/orders');
    expect(deleteSecret).toHaveBeenCalledWith(REFRESH_TOKEN_KEY);
    expect(useSession.getState().refreshToken).toBeNull();
    expect(useSession.getState().returnTo).toBe('/orders');
  });
}
