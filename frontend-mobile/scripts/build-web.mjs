#!/usr/bin/env node
/** Exports the web build to dist/ unless it is newer than every source file. */

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
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
process.exit(result.status ?? 1);
