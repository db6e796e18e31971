/** Notifications carry the API's paths (`/orders/{id}`, `/threads/{id}`, …); these are
 * the app's screens for them, or null where the app has no screen. */
export function appLink(link: string | null): string | null {
  if (!link) return null;
  const path = link.split('?')[0];
  const thread = /^\/threads\/([0-9a-f-]{36})$/i.exec(path);
  if (thread) return `/messages/${thread[1]}`;
  if (/^\/(orders|rfqs)\/[0-9a-f-]{36}$/i.test(path)) return path;
  return null;
}
