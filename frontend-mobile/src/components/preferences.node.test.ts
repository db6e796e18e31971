import { changedPreferences } from './preferences';

const stored = [
  { event_type: 'order.placed', in_app: true, email: true, sms: false, important: true },
  { event_type: 'message.posted', in_app: true, email: false, sms: false, important: false },
];

describe('notification preferences', () => {
  it('sends nothing while every switch is as stored', () => {
    expect(changedPreferences(stored, {})).toEqual([]);
    expect(changedPreferences(stored, { 'order.placed': { email: true } })).toEqual([]);
  });

  it('sends each changed event type with all three channels, so none falls back to its default', () => {
    expect(changedPreferences(stored, { 'order.placed': { email: false }, 'message.posted': {} })).toEqual([
      { event_type: 'order.placed', in_app: true, email: false, sms: false },
    ]);
  });

  it('drops a type switched off and on again', () => {
    expect(changedPreferences(stored, { 'message.posted': { sms: false, in_app: true } })).toEqual([]);
  });
});
