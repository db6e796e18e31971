/** Saving a file the API serves only to signed-in participants (message attachments,
 * invoices), in the browser. Phones use download.native.ts. */

import { api } from '../api';
import { config } from '../config';
import { apiPath } from './messages';

/** The file is fetched through the API client (cookie session, retries, translated
 * errors) and handed to the browser as a download. */
export async function downloadFile(url: string, filename: string): Promise<void> {
  const blob = await api.get<Blob>(apiPath(url, config.apiPrefix), { responseType: 'blob' });
  const href = URL.createObjectURL(blob);
  const anchor = document.createElement('a');
  anchor.href = href;
  anchor.download = filename;
  document.body.appendChild(anchor);
  anchor.click();
  anchor.remove();
  // The browser has started the download by now; the object URL is only needed until then.
  setTimeout(() => URL.revokeObjectURL(href), 30_000);
}
