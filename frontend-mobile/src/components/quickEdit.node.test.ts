import { ApiError } from '../api/problem';
import { ifMatch, isChangedElsewhere, parseDecimal, patchFor, quickFieldErrors, sameDecimal, valuesOf } from './quickEdit';

const product = {
  stock: '120.000',
  price_tiers: [
    { min_qty: '10', unit_price: '0.42' },
    { min_qty: '100', unit_price: '0.38' },
  ],
};

describe('the quick stock and price editor', () => {
  it('reads decimals as typed in any of the four languages', () => {
    expect(parseDecimal('12.50')).toBe('12.50');
    expect(parseDecimal('12,50')).toBe('12.50');
    expect(parseDecimal('1.234,5')).toBe('1234.5');
    expect(parseDecimal('1,234.5')).toBe('1234.5');
    expect(parseDecimal(' 1 234,5 ')).toBe('1234.5');
    expect(parseDecimal('-3')).toBeNull();
    expect(parseDecimal('abc')).toBeNull();
    expect(parseDecimal('')).toBeNull();
  });

  it('compares decimals by value, not by their trailing zeros', () => {
    expect(sameDecimal('120.000', '120')).toBe(true);
    expect(sameDecimal('0.420', '0.42')).toBe(true);
    expect(sameDecimal('007', '7')).toBe(true);
    expect(sameDecimal('120', '121')).toBe(false);
  });

  it('sends only what changed, replacing the first tier and keeping the others', () => {
    const baseline = valuesOf(product);
    expect(baseline).toEqual({ stock: '120.000', price: '0.42' });
    expect(patchFor(product, baseline, { stock: '120', price: '0,420' })).toEqual({ body: {}, errors: {} });
    expect(patchFor(product, baseline, { stock: '80', price: '0.42' }).body).toEqual({ stock: '80' });
    expect(patchFor(product, baseline, { stock: '120', price: '0,45' }).body).toEqual({
      price_tiers: [
        { min_qty: '10', unit_price: '0.45' },
        { min_qty: '100', unit_price: '0.38' },
      ],
    });
  });

  it('names each unreadable field instead of sending it', () => {
    expect(patchFor(product, valuesOf(product), { stock: 'many', price: '' })).toEqual({
      body: {},
      errors: { stock: 'invalid', price: 'invalid' },
    });
  });

  it('saves only over the version it loaded, and knows the refusal when the product moved', () => {
    expect(ifMatch(7)).toEqual({ 'If-Match': '"7"' });
    expect(isChangedElsewhere(new ApiError('http', 412, null, 'changed'))).toBe(true);
    expect(isChangedElsewhere(new ApiError('http', 409, null, 'conflict'))).toBe(false);
    expect(isChangedElsewhere(new Error('offline'))).toBe(false);
  });

  it('puts the API’s field errors beside the stock and price fields', () => {
    expect(
      quickFieldErrors({ stock: 'must be ≥ 0', 'price_tiers.0.unit_price': 'too many digits', 'price_tiers.1.unit_price': 'x', moq: 'other' }),
    ).toEqual({ byField: { stock: 'must be ≥ 0', price: 'too many digits' }, other: ['other'] });
  });
});
