/** `fetch` over Node's own HTTP, for tests under the native presets (whose `fetch` is a
 * stub that answers nothing) that talk to a real local server. */

import http from 'node:http';

export function nodeFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, name) => {
      headers[name] = value;
    });
    const request = http.request(String(input), { method: init?.method ?? 'GET', headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const answer = new Headers();
        for (const [name, value] of Object.entries(response.headers)) if (typeof value === 'string') answer.set(name, value);
        const status = response.statusCode ?? 0;
        const body = status === 204 || status === 304 ? null : Buffer.concat(chunks).toString();
        resolve(new Response(body, { status, headers: answer }));
      });
    });
    request.on('error', reject);
    const body = init?.body;
    if (typeof body === 'string') request.write(body);
    else if (body instanceof Uint8Array) request.write(Buffer.from(body));
    else if (body instanceof ArrayBuffer) request.write(Buffer.from(new Uint8Array(body)));
    request.end();
  });
}
