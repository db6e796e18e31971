/** Setting the scene through the real API (the steps a test is not about): sign in with
 * the development code, place an order, move it along. */

import { expect, type APIRequestContext } from '@playwright/test';

export interface Member {
  token: string;
  companyId: string;
  headers: Record<string, string>;
}

export async function apiSignIn(request: APIRequestContext, email: string): Promise<Member> {
  const challenge = await request.post('/api/v1/auth/otp/request', { data: { email } });
  expect(challenge.status()).toBe(202);
  const verified = await request.post('/api/v1/auth/otp/verify', { data: { challenge_id: (await challenge.json()).challenge_id, code: '000000' } });
  expect(verified.status()).toBe(200);
  const token = (await verified.json()).access_token as string;
  const me = await (await request.get('/api/v1/me', { headers: { Authorization: `Bearer ${token}` } })).json();
  const companyId = me.companies[0].company_id as string;
  return { token, companyId, headers: { Authorization: `Bearer ${token}`, 'X-Company-ID': companyId } };
}

export interface PlacedOrder {
  id: string;
  number: string;
  supplier_id: string;
  supplier_name: string;
  productId: string;
}

/** The buyer orders the minimum of one product. */
export async function orderProduct(request: APIRequestContext, buyer: Member, productId: string): Promise<PlacedOrder> {
  const product = await (await request.get(`/api/v1/products/${productId}`)).json();
  await request.delete('/api/v1/cart', { headers: buyer.headers });
  const line = await request.put(`/api/v1/cart/lines/${productId}`, { headers: buyer.headers, data: { quantity: product.moq } });
  expect(line.status(), await line.text()).toBe(200);
  const checkout = await request.post('/api/v1/checkout', {
    headers: buyer.headers,
    data: {
      payment_terms: 'net_30',
      po_number: 'PO-E2E',
      notes: '',
      shipping_address: { line1: 'Hafenstraße 12', postal_code: '20457', city: 'Hamburg', country: 'DE' },
    },
  });
  expect(checkout.status(), await checkout.text()).toBe(201);
  const order = (await checkout.json()).orders[0];
  return { id: order.id, number: order.number, supplier_id: order.supplier_id, supplier_name: order.supplier_name, productId };
}

/** The buyer orders the minimum of the first product in stock of the supplier whose
 * name matches, found by `query`. */
export async function placeOrder(request: APIRequestContext, buyer: Member, query: string, supplier: RegExp): Promise<PlacedOrder> {
  const page = await (await request.get(`/api/v1/products?q=${encodeURIComponent(query)}&in_stock=true&limit=100`)).json();
  const item = (page.items as { id: string; moq: string; supplier: { name: string } }[]).find((p) => supplier.test(p.supplier.name));
  if (!item) throw new Error(`no product of ${supplier} for “${query}”`);
  return orderProduct(request, buyer, item.id);
}

export async function transition(request: APIRequestContext, member: Member, orderId: string, action: string, extra: Record<string, string> = {}): Promise<void> {
  const response = await request.post(`/api/v1/orders/${orderId}/transitions`, { headers: member.headers, data: { action, ...extra } });
  expect(response.status(), await response.text()).toBe(200);
}
