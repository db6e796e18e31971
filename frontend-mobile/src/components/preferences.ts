/** Notification preferences: the switches the user moved, as the API's update list. */

import type { NotificationPreference } from '../api/types';

export const CHANNELS = ['in_app', 'email', 'sms'] as const;
export type Channel = (typeof CHANNELS)[number];

export type PreferenceChange = { event_type: string } & Partial<Record<Channel, boolean>>;

/** Only the event types whose switches differ from the stored ones, with every channel of
 * such a type (the API sets a channel left out back to its default). */
export function changedPreferences(
  stored: NotificationPreference[],
  draft: Record<string, Partial<Record<Channel, boolean>>>,
): PreferenceChange[] {
  const changes: PreferenceChange[] = [];
  for (const row of stored) {
    const edits = draft[row.event_type];
    if (!edits || CHANNELS.every((channel) => (edits[channel] ?? row[channel]) === row[channel])) continue;
    changes.push({
      event_type: row.event_type,
      in_app: edits.in_app ?? row.in_app,
      email: edits.email ?? row.email,
      sms: edits.sms ?? row.sms,
    });
  }
  return changes;
}
