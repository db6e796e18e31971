/** Order quantities as the supplier allows them: at least the MOQ, in steps of the pack
 * size (order multiple). Decimal strings in, decimal strings out; arithmetic in thousandths
 * (the API's quantity precision) so that 0.1 + 0.2 never shows up. */

const SCALE = 1000;

function toUnits(value: string | number): number {
  return Math.round(Number(value) * SCALE);
}

function fromUnits(units: number): string {
  const whole = units / SCALE;
  return Number.isInteger(whole) ? String(whole) : whole.toFixed(3).replace(/0+$/, '');
}

export function stepOf(moq: string, multiple: string | null): number {
  return toUnits(multiple ?? (Number(moq) >= 1 ? '1' : moq));
}

/** The nearest allowed quantity at or above `value`. */
export function allowedQuantity(value: string | number, moq: string, multiple: string | null): string {
  const minimum = toUnits(moq);
  let units = Math.max(toUnits(value) || 0, minimum);
  if (multiple) {
    const step = toUnits(multiple);
    units = Math.ceil(units / step) * step;
  }
  return fromUnits(units);
}

export function stepQuantity(current: string, direction: 1 | -1, moq: string, multiple: string | null): string {
  const step = stepOf(moq, multiple);
  const next = toUnits(current) + direction * step;
  if (direction < 0 && next < toUnits(moq)) return allowedQuantity(moq, moq, multiple);
  return allowedQuantity(fromUnits(next), moq, multiple);
}

export function isAllowed(value: string, moq: string, multiple: string | null): boolean {
  if (!/^\d+(\.\d{1,3})?$/.test(value)) return false;
  return allowedQuantity(value, moq, multiple) === fromUnits(toUnits(value));
}
