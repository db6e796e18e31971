#!/usr/bin/env node
/** `npm run test:e2e`: Playwright in Debian's Chromium against the real API with the demo
 * data. Builds the web version first when it is missing or older than the sources. */

import { spawnSync } from 'node:child_process';

const run = (command, args) => {
  const result = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1' } });
  if (result.status !== 0) process.exit(result.status ?? 1);
};

run('node', ['scripts/build-web.mjs']);
run('npx', ['playwright', 'test', ...process.argv.slice(2)]);
