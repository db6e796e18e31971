/** Saving a file the API serves only to signed-in participants (message attachments). */

import { Linking, Platform } from 'react-native';

import { api } from '../api';
import { config } from '../config';
import { apiPath } from './messages';

/** On the web the file is fetched through the API client (cookie session, retries,
 * translated errors) and handed to the browser as a download. Phones open the address
 * in the system browser, as invoices are. */
export async function downloadFile(url: string, filename: string): Promise<void> {
  if (Platform.OS !== 'web') {
    await Linking.openURL(url.startsWith('http') ? url : `${config.apiUrl}${url}`);
    return;
  }
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
