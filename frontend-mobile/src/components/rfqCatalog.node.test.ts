import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import type { PaymentTerms, QuoteStatus, RfqStatus } from '../api/rfqTypes';
import { PAYMENT_TERMS } from '../api/rfqTypes';
import en from '../i18n/locales/en.json';

type Tree = { [key: string]: string | Tree };

function has(path: string): boolean {
  let node: string | Tree = en as Tree;
  for (const part of path.split('.')) {
    if (typeof node !== 'object' || !(part in node)) return false;
    node = node[part];
  }
  return typeof node === 'string';
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.tsx?$/.test(name) && !name.includes('.test.') ? [path] : [];
  });
}

const root = join(__dirname, '..', '..');

describe('the RFQ screens’ texts', () => {
  it('exist for every literal key the screens and their logic use', () => {
    const used = new Set<string>();
    for (const file of [...sources(join(root, 'app')), ...sources(join(root, 'src'))]) {
      for (const match of readFileSync(file, 'utf8').matchAll(/'(rfq\.[A-Za-z.]+)'/g)) used.add(match[1]);
    }
    expect(used.size).toBeGreaterThan(40);
    expect([...used].filter((key) => !has(key))).toEqual([]);
  });

  it('name every status, quote status and payment term the API returns', () => {
    const statuses: RfqStatus[] = ['draft', 'open', 'awarded', 'closed', 'cancelled', 'expired'];
    const quoteStatuses: QuoteStatus[] = ['submitted', 'accepted', 'rejected', 'withdrawn', 'expired'];
    const terms: PaymentTerms[] = PAYMENT_TERMS;
    const missing = [
      ...statuses.map((s) => `rfq.status.${s}`),
      ...quoteStatuses.map((s) => `rfq.quoteStatus.${s}`),
      ...terms.map((s) => `rfq.paymentTerm.${s}`),
    ].filter((key) => !has(key));
    expect(missing).toEqual([]);
  });
});
