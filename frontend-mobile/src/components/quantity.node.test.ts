import { allowedQuantity, isAllowed, stepQuantity } from './quantity';

describe('the quantity stepper', () => {
  it('never goes below the MOQ', () => {
    expect(stepQuantity('10', -1, '10', null)).toBe('10');
    expect(allowedQuantity('3', '10', null)).toBe('10');
  });

  it('steps in pack sizes and rounds typed values up to a whole pack', () => {
    expect(stepQuantity('12', 1, '12', '6')).toBe('18');
    expect(stepQuantity('18', -1, '12', '6')).toBe('12');
    expect(allowedQuantity('13', '12', '6')).toBe('18');
  });

  it('handles decimal units without float drift', () => {
    expect(stepQuantity('0.2', 1, '0.1', '0.1')).toBe('0.3');
    expect(stepQuantity('2.5', 1, '0.5', '0.25')).toBe('2.75');
  });

  it('tells whether a typed quantity can be ordered', () => {
    expect(isAllowed('18', '12', '6')).toBe(true);
    expect(isAllowed('13', '12', '6')).toBe(false);
    expect(isAllowed('6', '12', '6')).toBe(false);
    expect(isAllowed('abc', '1', null)).toBe(false);
    expect(isAllowed('1.2345', '1', null)).toBe(false);
  });
});
