/** Saving a file the API serves only to signed-in participants (message attachments,
 * invoices) on a phone. The browser's version is download.ts. */

import { File, Paths } from 'expo-file-system';
import * as Sharing from 'expo-sharing';

import { api } from '../api';
import { ApiError } from '../api/problem';
import { config } from '../config';
import { apiPath } from './messages';

/** What a file is saved as: its own name without anything that would leave the folder. */
export function safeFilename(filename: string): string {
  const name = filename.replace(/[/\\\0]/g, '_').replace(/^\.+/, '').trim();
  return name || 'download';
}

/** The HTTP status of a failed native download ("... response has status 401"), if any. */
export function downloadStatus(error: unknown): number | null {
  const match = /status (\d{3})/.exec(String((error as { message?: unknown })?.message ?? error));
  return match ? Number(match[1]) : null;
}

/** The file is downloaded by the platform straight into the app's cache with the headers
 * the API client sends (the bearer token, the company, the language: the phone has no
 * cookie session), then offered to the share sheet to open or save it. An expired token
 * is refreshed once, as for any request; a refusal becomes the API client's error. */
export async function downloadFile(url: string, filename: string): Promise<void> {
  const path = apiPath(url, config.apiPrefix);
  const address = `${config.apiUrl}${config.apiPrefix}${path}`;
  const target = new File(Paths.cache, safeFilename(filename));
  for (let renewed = false; ; renewed = true) {
    const headers = api.readHeaders();
    const sentToken = headers.Authorization?.replace(/^Bearer /, '') ?? null;
    try {
      const file = await File.downloadFileAsync(address, target, { headers, idempotent: true });
      if (await Sharing.isAvailableAsync()) {
        await Sharing.shareAsync(file.uri, { dialogTitle: filename, mimeType: file.type || undefined });
      }
      return;
    } catch (error) {
      const status = downloadStatus(error);
      if (status === 401 && !renewed && (await api.renewAfterUnauthorized(sentToken))) continue;
      // Refused: the same read through the API client brings the API's own problem, in
      // the user's language, as every other screen shows it.
      if (status !== null) await api.get(path, { responseType: 'text' });
      throw new ApiError('network', 0, null, String((error as Error)?.message ?? error));
    }
  }
}
