/** Message threads: the page order, files to attach and how a message is sent. */

import type { Message, Page } from '../api/types';

/** The API's limit of files per message (messaging/attachments.py). */
export const MAX_ATTACHMENTS = 5;

/** A picked file: the browser's File on the web, a local URI on phones. */
export interface PickedFile {
  name: string;
  size: number | null;
  mimeType: string | null;
  uri: string;
  file?: Blob;
}

/** Pages arrive newest first and go back in time; a conversation reads oldest first.
 * A message on two pages (one arrived while paging) is shown once. */
export function chronological(pages: Pick<Page<Message>, 'items'>[]): Message[] {
  const seen = new Set<string>();
  const messages: Message[] = [];
  for (const page of pages) {
    for (const message of page.items) {
      if (seen.has(message.id)) continue;
      seen.add(message.id);
      messages.push(message);
    }
  }
  return messages.sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at) || a.id.localeCompare(b.id));
}

/** Adds picked files to those already attached, the same file once, at most five. */
export function addFiles(current: PickedFile[], picked: PickedFile[]): { files: PickedFile[]; dropped: number } {
  const files = [...current];
  let dropped = 0;
  for (const file of picked) {
    if (files.some((f) => f.uri === file.uri || (f.name === file.name && f.size === file.size))) continue;
    if (files.length >= MAX_ATTACHMENTS) dropped += 1;
    else files.push(file);
  }
  return { files, dropped };
}

/** JSON for text alone; multipart with `body` and `files` when files are attached. */
export function messageBody(text: string, files: PickedFile[]): { body?: { body: string }; rawBody?: FormData } {
  if (!files.length) return { body: { body: text } };
  const form = new FormData();
  form.append('body', text);
  for (const file of files) {
    if (file.file) form.append('files', file.file, file.name);
    // React Native's FormData takes a local file as { uri, name, type }.
    else form.append('files', { uri: file.uri, name: file.name, type: file.mimeType ?? 'application/octet-stream' } as unknown as Blob);
  }
  return { rawBody: form };
}

export function canSend(text: string, files: PickedFile[]): boolean {
  return text.trim().length > 0 || files.length > 0;
}

/** "12 KB", "1.4 MB" in the user's language. */
export function formatBytes(size: number, locale: string): string {
  const units = ['byte', 'kilobyte', 'megabyte', 'gigabyte'] as const;
  let value = size;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return new Intl.NumberFormat(locale, { style: 'unit', unit: units[unit], unitDisplay: 'short', maximumFractionDigits: unit ? 1 : 0 }).format(value);
}

/** The API path of an attachment URL, for the API client (which adds the prefix). */
export function apiPath(url: string, prefix: string): string {
  const path = url.replace(/^https?:\/\/[^/]+/, '');
  return path.startsWith(`${prefix}/`) ? path.slice(prefix.length) : path;
}
