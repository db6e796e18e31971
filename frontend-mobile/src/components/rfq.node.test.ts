import { ApiError } from '../api/problem';
import type { Comparison, Rfq } from '../api/rfqTypes';
import {
  awardLines,
  awardOrders,
  buyerActions,
  canQuote,
  chooseOffer,
  comparisonGrid,
  dateInDays,
  draftErrors,
  emptyLine,
  endOfDay,
  formLevelErrors,
  initialAward,
  normalizeDecimal,
  quoteBody,
  quoteDraftFor,
  rfqBody,
  type RfqDraft,
  sumDecimals,
  suppliersOf,
  toggleSupplier,
} from './rfq';

const nordbolt = { id: 's-nord', name: 'Nordbolt', country: 'DE' };
const thames = { id: 's-thames', name: 'Thames', country: 'GB' };
const lumiere = { id: 's-lum', name: 'Lumière', country: 'FR' };

/** Two items; Nordbolt prices both, Thames only the second (cheaper there), Lumière the
 * first at a tie in price with a shorter lead time. Offers sorted as the API sorts them. */
const comparison: Comparison = {
  rfq_id: 'r1',
  currency: 'EUR',
  items: [
    {
      rfq_item_id: 'i-bolts',
      description: 'Hex bolts M8',
      quantity: '1000',
      target_unit_price: '0.35',
      offers: [
        { quote_id: 'q-lum', supplier_id: lumiere.id, supplier_name: lumiere.name, unit_price: '0.3000', line_total: '300.00', lead_time_days: 2, is_best: true },
        { quote_id: 'q-nord', supplier_id: nordbolt.id, supplier_name: nordbolt.name, unit_price: '0.3000', line_total: '300.00', lead_time_days: 9, is_best: true },
      ],
    },
    {
      rfq_item_id: 'i-brackets',
      description: 'Brackets B-12',
      quantity: '200',
      target_unit_price: null,
      offers: [
        { quote_id: 'q-thames', supplier_id: thames.id, supplier_name: thames.name, unit_price: '3.1025', line_total: '620.50', lead_time_days: 4, is_best: true },
        { quote_id: 'q-nord', supplier_id: nordbolt.id, supplier_name: nordbolt.name, unit_price: '4.00', line_total: '800.00', lead_time_days: 9, is_best: false },
      ],
    },
    { rfq_item_id: 'i-nobody', description: 'Unobtainium', quantity: '1', target_unit_price: null, offers: [] },
  ],
  quotes: [
    { quote_id: 'q-lum', supplier_id: lumiere.id, supplier_name: lumiere.name, total: '300.00', items_quoted: 1, lead_time_days: 2, valid_until: '2030-01-01T00:00:00Z' },
    { quote_id: 'q-thames', supplier_id: thames.id, supplier_name: thames.name, total: '620.50', items_quoted: 1, lead_time_days: 4, valid_until: '2030-01-01T00:00:00Z' },
    { quote_id: 'q-nord', supplier_id: nordbolt.id, supplier_name: nordbolt.name, total: '1100.00', items_quoted: 2, lead_time_days: 9, valid_until: '2030-01-01T00:00:00Z' },
  ],
};

const rfq: Rfq = {
  id: 'r1',
  buyer_id: 'b1',
  buyer_name: 'Hansen Bau',
  title: 'Fasteners',
  description: '',
  currency: 'EUR',
  delivery_country: 'DE',
  deadline: '2030-01-01T00:00:00Z',
  visibility: 'invited',
  status: 'open',
  payment_terms: 'net_30',
  published_at: '2029-12-01T00:00:00Z',
  created_at: '2029-12-01T00:00:00Z',
  items: [
    { id: 'i-bolts', position: 1, product_id: 'p1', description: 'Hex bolts M8', quantity: '1000', unit: 'piece', target_unit_price: null },
    { id: 'i-brackets', position: 2, product_id: null, description: 'Brackets', quantity: '200', unit: 'piece', target_unit_price: null },
  ],
};

describe('decimals', () => {
  it('sums money exactly, at the largest scale given', () => {
    expect(sumDecimals(['0.10', '0.20'])).toBe('0.30');
    expect(sumDecimals(['300.00', '620.5'])).toBe('920.50');
    expect(sumDecimals(['0.0001', '2'])).toBe('2.0001');
    expect(sumDecimals([])).toBe('0.00');
    expect(sumDecimals(['-1.5', '1'])).toBe('-0.50');
  });

  it('reads a decimal comma and leaves anything else for the API to judge', () => {
    expect(normalizeDecimal(' 0,35 ')).toBe('0.35');
    expect(normalizeDecimal('1.000,5')).toBe('1.000,5');
    expect(normalizeDecimal('abc')).toBe('abc');
  });
});

describe('dates', () => {
  it('counts calendar days across a month end', () => {
    expect(dateInDays(14, new Date(2026, 11, 25, 10))).toBe('2027-01-08');
  });

  it('ends a typed day in the local zone with an explicit offset, and passes nonsense on', () => {
    const iso = endOfDay('2027-03-04');
    expect(iso).toMatch(/Z$/);
    const back = new Date(iso);
    expect([back.getFullYear(), back.getMonth(), back.getDate(), back.getHours(), back.getMinutes()]).toEqual([2027, 2, 4, 23, 59]);
    expect(endOfDay('2027-02-30')).toBe('2027-02-30');
    expect(endOfDay('next week')).toBe('next week');
  });
});

describe('the request', () => {
  const draft: RfqDraft = {
    title: 'Fasteners for plant 2',
    description: '',
    lines: [
      { productId: 'p1', description: 'Hex bolts M8', quantity: '1000', unit: 'piece', targetPrice: '0,35' },
      { ...emptyLine(), description: ' Brackets B-12 ', quantity: '200', unit: 'Piece' },
    ],
    suppliers: [nordbolt],
    currency: 'eur',
    deliveryCountry: 'de',
    deadline: '2030-01-01',
    paymentTerms: 'net_30',
  };

  it('keeps the refusal’s messages that name no field for the form’s notice', () => {
    const refusal = new ApiError('http', 422, {
      errors: [
        { loc: ['body'], msg: 'Value error, deadline must be in the future', type: 'value_error' },
        { loc: ['body', 'items', 0, 'quantity'], msg: 'must be greater than 0', type: 'greater_than' },
      ],
    }, 'invalid');
    expect(formLevelErrors(refusal)).toEqual(['Value error, deadline must be in the future']);
    expect(formLevelErrors(new ApiError('network', 0, null, 'offline'))).toEqual([]);
  });

  it('asks for a second supplier', () => {
    expect(draftErrors(draft)).toEqual({ invited_supplier_ids: 'rfq.errors.twoSuppliers' });
    expect(draftErrors({ ...draft, suppliers: [nordbolt, thames] })).toEqual({});
  });

  it('is an invited-only request to the chosen suppliers, every line in the order shown', () => {
    const body = rfqBody({ ...draft, suppliers: [nordbolt, thames] });
    expect(body.visibility).toBe('invited');
    expect(body.invited_supplier_ids).toEqual(['s-nord', 's-thames']);
    expect(body.currency).toBe('EUR');
    expect(body.delivery_country).toBe('DE');
    expect(body.items).toEqual([
      { product_id: 'p1', description: 'Hex bolts M8', quantity: '1000', unit: 'piece', target_unit_price: '0.35' },
      { product_id: null, description: 'Brackets B-12', quantity: '200', unit: 'piece', target_unit_price: null },
    ]);
    expect(new Date(body.deadline).getDate()).toBe(1);
  });

  it('chooses suppliers from catalog results once each, never the buyer itself', () => {
    const products = [{ supplier: nordbolt }, { supplier: { ...thames, is_verified: true } }, { supplier: nordbolt }, { supplier: { id: 'me', name: 'Hansen', country: 'DE' } }];
    expect(suppliersOf(products, 'me')).toEqual([nordbolt, thames]);
    const chosen = toggleSupplier(toggleSupplier([nordbolt], thames), lumiere);
    expect(chosen.map((s) => s.id)).toEqual(['s-nord', 's-thames', 's-lum']);
    expect(toggleSupplier(chosen, thames).map((s) => s.id)).toEqual(['s-nord', 's-lum']);
  });
});

describe('the quote', () => {
  it('sends only the priced items and maps the API’s item index back to the item', () => {
    const draft = { ...quoteDraftFor(rfq, null, new Date(2029, 11, 1)), prices: { 'i-brackets': '3,10' }, leadTimeDays: ' 5 ' };
    const { body, fieldOf } = quoteBody(rfq, draft);
    expect(body.items).toEqual([{ rfq_item_id: 'i-brackets', unit_price: '3.10' }]);
    expect(body.lead_time_days).toBe('5');
    expect(body.payment_terms).toBe('net_30');
    expect(fieldOf('i-brackets')).toBe('items.0.unit_price');
    expect(fieldOf('i-bolts')).toBeNull();
  });

  it('starts a revision from the live quote', () => {
    const draft = quoteDraftFor(rfq, { items: [{ rfq_item_id: 'i-bolts', unit_price: '0.3000' }], valid_until: new Date(2030, 0, 2, 23, 59).toISOString(), lead_time_days: 7, payment_terms: 'net_60', terms: 'EXW', notes: 'n' });
    expect(draft).toEqual({ prices: { 'i-bolts': '0.3000' }, validUntil: '2030-01-02', leadTimeDays: '7', paymentTerms: 'net_60', terms: 'EXW', notes: 'n' });
  });

  it('is possible only while the request is open and before its deadline', () => {
    expect(canQuote(rfq, new Date('2029-12-31T00:00:00Z'))).toBe(true);
    expect(canQuote(rfq, new Date('2030-01-02T00:00:00Z'))).toBe(false);
    expect(canQuote({ ...rfq, status: 'awarded' }, new Date('2029-12-31T00:00:00Z'))).toBe(false);
  });
});

describe('comparison and award', () => {
  it('lays the offers out per item and per quote, with gaps where a supplier did not price', () => {
    const grid = comparisonGrid(comparison);
    expect(grid.map((row) => row.cells.map((cell) => cell?.unit_price ?? null))).toEqual([
      ['0.3000', null, '0.3000'],
      [null, '3.1025', '4.00'],
      [null, null, null],
    ]);
  });

  it('starts from the best offer per item (the shorter lead time on a tie)', () => {
    expect(initialAward(comparison)).toEqual({ 'i-bolts': 'q-lum', 'i-brackets': 'q-thames', 'i-nobody': null });
  });

  it('awards lines to different suppliers and makes one order per awarded supplier', () => {
    let choice = initialAward(comparison);
    choice = chooseOffer(choice, 'i-bolts', 'q-nord');
    expect(awardLines(comparison, choice)).toEqual([
      { rfq_item_id: 'i-bolts', quote_id: 'q-nord' },
      { rfq_item_id: 'i-brackets', quote_id: 'q-thames' },
    ]);
    expect(awardOrders(comparison, choice)).toEqual([
      { quoteId: 'q-thames', supplierName: 'Thames', lines: 1, total: '620.50' },
      { quoteId: 'q-nord', supplierName: 'Nordbolt', lines: 1, total: '300.00' },
    ]);
    choice = chooseOffer(choice, 'i-brackets', 'q-nord');
    expect(awardOrders(comparison, choice)).toEqual([{ quoteId: 'q-nord', supplierName: 'Nordbolt', lines: 2, total: '1100.00' }]);
  });

  it('leaves out unawarded lines and quotes that do not price the item', () => {
    let choice = chooseOffer(initialAward(comparison), 'i-bolts', null);
    choice = chooseOffer(choice, 'i-nobody', 'q-nord');
    expect(awardLines(comparison, choice)).toEqual([{ rfq_item_id: 'i-brackets', quote_id: 'q-thames' }]);
  });

  it('offers the buyer the steps each status allows', () => {
    expect(buyerActions('draft')).toEqual(['publish', 'cancel']);
    expect(buyerActions('open')).toEqual(['award', 'cancel']);
    expect(buyerActions('awarded')).toEqual([]);
  });
});
