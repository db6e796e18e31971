import { appLink } from './links';
import { queueCount, rfqsToAnswer } from './supplierDashboard';

const rfq = (id: string, status: string, deadline: string) => ({ id, buyer_name: 'Hansen Bau', title: id, deadline, status });

describe('the supplier dashboard', () => {
  it('counts a queue and says when there are more than one page', () => {
    expect(queueCount(undefined)).toEqual({ count: 0, more: false });
    expect(queueCount({ items: [1, 2, 3], next_cursor: null })).toEqual({ count: 3, more: false });
    expect(queueCount({ items: [1, 2], next_cursor: 'abc' })).toEqual({ count: 2, more: true });
  });

  it('lists only open RFQs before their deadline, the soonest first', () => {
    const now = Date.parse('2026-12-07T12:00:00Z');
    const items = [
      rfq('later', 'open', '2026-12-20T00:00:00Z'),
      rfq('past', 'open', '2026-12-01T00:00:00Z'),
      rfq('awarded', 'awarded', '2026-12-20T00:00:00Z'),
      rfq('sooner', 'open', '2026-12-08T00:00:00Z'),
    ];
    expect(rfqsToAnswer(items, now).map((r) => r.id)).toEqual(['sooner', 'later']);
  });
});

describe('notification links', () => {
  const id = '0b6f2a52-6d0e-4f51-9d59-2f1c3a0f7e11';
  it('open the app’s screen for orders, RFQs and threads', () => {
    expect(appLink(`/orders/${id}`)).toBe(`/orders/${id}`);
    expect(appLink(`/rfqs/${id}`)).toBe(`/rfqs/${id}`);
    expect(appLink(`/threads/${id}`)).toBe(`/messages/${id}`);
  });

  it('lead nowhere where the app has no screen', () => {
    expect(appLink(`/companies/${id}/webhooks/${id}`)).toBeNull();
    expect(appLink(null)).toBeNull();
    expect(appLink('https://elsewhere.example/orders/1')).toBeNull();
  });
});
