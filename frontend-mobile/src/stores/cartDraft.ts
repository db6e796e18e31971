/** The checkout form as the user types it: kept on the device, so neither a failed
 * submission nor an app restart loses it. Cleared once the orders are placed. */

import { create } from 'zustand';
import { persist } from 'zustand/middleware';

import { persistentStorage } from './storage';

export interface CheckoutDraft {
  line1: string;
  postalCode: string;
  city: string;
  country: string;
  poNumber: string;
  notes: string;
  paymentTerms: 'prepaid' | 'net_15' | 'net_30' | 'net_60';
}

export const EMPTY_DRAFT: CheckoutDraft = {
  line1: '',
  postalCode: '',
  city: '',
  country: '',
  poNumber: '',
  notes: '',
  paymentTerms: 'net_30',
};

interface CartDraftState {
  draft: CheckoutDraft;
  /** One key per checkout attempt: a retried or repeated submission cannot place twice. */
  checkoutKey: string | null;
  update(patch: Partial<CheckoutDraft>): void;
  setCheckoutKey(key: string | null): void;
  clear(): void;
}

export const useCartDraft = create<CartDraftState>()(
  persist(
    (set) => ({
      draft: EMPTY_DRAFT,
      checkoutKey: null,
      update: (patch) => set((state) => ({ draft: { ...state.draft, ...patch } })),
      setCheckoutKey: (key) => set({ checkoutKey: key }),
      clear: () => set({ draft: EMPTY_DRAFT, checkoutKey: null }),
    }),
    { name: 'mp.cart-draft', storage: persistentStorage },
  ),
);
