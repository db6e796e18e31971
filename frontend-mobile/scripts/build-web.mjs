#!/usr/bin/env node
/** Exports the web build to dist/ unless it is newer than every source file. */

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const SOURCES = ['app', 'src', 'assets', 'app.json', 'package-lock.json', 'babel.config.js'];

function newest(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
}

const index = join(root, 'dist', 'index.html');
const built = existsSync(index) ? statSync(index).mtimeMs : 0;
const changed = Math.max(...SOURCES.map((s) => join(root, s)).filter(existsSync).map(newest));
if (built > changed && process.argv[2] !== '--force') {
  console.log('web build is up to date');
  process.exit(0);
}
const result = spawnSync('npx', ['expo', 'export', '--platform', 'web', '--output-dir', 'dist'], {
  cwd: root,
  stdio: ['ignore', 'ignore', 'inherit'],
  env: { ...process.env, CI: '1', EXPO_NO_TELEMETRY: '1' },
});
if (result.status !== 0) process.exit(result.status ?? 1);
preloadLaunchRoutes();

/** Routes are separate chunks (lazy routes), which the router asks for only once the main
 * bundle has run: the root layout, then the home screen, one after the other. The page
 * asks for both at once with the main bundle instead, so that they are there when needed
 * (about a third of a second of a launch with 4x CPU throttling). The home chunk is the
 * one holding the home screen's search field (`home-search`). */
function preloadLaunchRoutes() {
  const chunks = join(root, 'dist', '_expo', 'static', 'js', 'web');
  const names = readdirSync(chunks);
  const layout = names.filter((name) => /^_layout-[0-9a-f]+\.js$/.test(name));
  const home = names.filter((name) => /^index-[0-9a-f]+\.js$/.test(name) && readFileSync(join(chunks, name), 'utf8').includes('"home-search"'));
  if (layout.length !== 1 || home.length !== 1) {
    console.error(`build-web: expected one root layout and one home chunk, found ${layout.length} and ${home.length}`);
    process.exit(1);
  }
  const links = [...layout, ...home].map((name) => `<link rel="preload" as="script" href="/_expo/static/js/web/${name}">`).join('');
  const html = readFileSync(index, 'utf8');
  writeFileSync(index, html.replace('</head>', `${links}</head>`));
}
