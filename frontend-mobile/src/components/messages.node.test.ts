import type { Message } from '../api/types';
import { addFiles, apiPath, canSend, chronological, formatBytes, messageBody, type PickedFile } from './messages';

const message = (id: string, at: string): Message => ({
  id,
  thread_id: 't',
  author_company_id: 'c',
  author_user_id: null,
  body: id,
  attachments: [],
  created_at: at,
});

const file = (name: string, size = 10): PickedFile => ({ name, size, mimeType: 'text/plain', uri: `blob:${name}`, file: new Blob(['x'.repeat(size)], { type: 'text/plain' }) });

describe('message threads', () => {
  it('read oldest first across pages that go back in time, each message once', () => {
    const pages = [
      { items: [message('c', '2026-12-07T10:02:00Z'), message('b', '2026-12-07T10:01:00Z')] },
      { items: [message('b', '2026-12-07T10:01:00Z'), message('a', '2026-12-07T10:00:00Z')] },
    ];
    expect(chronological(pages).map((m) => m.id)).toEqual(['a', 'b', 'c']);
  });

  it('attach each file once and at most five', () => {
    const first = addFiles([], [file('a.pdf'), file('a.pdf')]);
    expect(first.files.map((f) => f.name)).toEqual(['a.pdf']);
    const full = addFiles(first.files, ['b', 'c', 'd', 'e', 'f', 'g'].map((n) => file(`${n}.txt`)));
    expect(full.files).toHaveLength(5);
    expect(full.dropped).toBe(2);
  });

  it('send text as JSON and files as multipart with the text beside them', () => {
    expect(messageBody('Hello', [])).toEqual({ body: { body: 'Hello' } });
    const { rawBody, body } = messageBody('See attached', [file('spec.txt', 3)]);
    expect(body).toBeUndefined();
    expect(rawBody?.get('body')).toBe('See attached');
    const sent = rawBody?.getAll('files') as File[];
    expect(sent).toHaveLength(1);
    expect(sent[0].name).toBe('spec.txt');
    expect(sent[0].size).toBe(3);
  });

  it('need text or a file to send', () => {
    expect(canSend('  ', [])).toBe(false);
    expect(canSend('hi', [])).toBe(true);
    expect(canSend('', [file('a.pdf')])).toBe(true);
  });

  it('show sizes in the user’s language', () => {
    expect(formatBytes(512, 'en-GB')).toBe('512 byte');
    expect(formatBytes(1536, 'en-GB')).toBe('1.5 kB');
    expect(formatBytes(1536, 'de-DE')).toBe('1,5 kB');
  });

  it('download attachments through the API client’s own prefix', () => {
    expect(apiPath('/api/v1/threads/t/messages/m/attachments/a', '/api/v1')).toBe('/threads/t/messages/m/attachments/a');
    expect(apiPath('http://127.0.0.1:8000/api/v1/threads/t', '/api/v1')).toBe('/threads/t');
  });
});
