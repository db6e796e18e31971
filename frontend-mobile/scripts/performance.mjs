#!/usr/bin/env node
/** The web build's size and the app's launch time in Chromium, each against its budget.
 *
 * Size: the JavaScript a first visit downloads (the entry bundles named in index.html),
 * raw and gzip-compressed, and all bundles together. Launch: a fresh Chromium with the CPU
 * throttled 4x loads `/` from the real API (started as for the e2e tests) until the home
 * screen's search field is interactive; the median of five cold loads is reported.
 * Exits non-zero when a size budget is exceeded. Launch time is printed against its budget
 * but never fails the run: a timing on a shared 2-core machine measures the machine as
 * much as the app (the team's rule: speed is measured and reported, not asserted). */

import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from '@playwright/test';

const BUDGET = { initialGzipKb: 450, allRawKb: 2500, launchMs: 3000 };
const dist = new URL('../dist/', import.meta.url).pathname;
const port = Number(process.env.PERF_PORT ?? 8766);
const base = `http://127.0.0.1:${port}`;

function listFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

function bundleSizes() {
  const html = readFileSync(join(dist, 'index.html'), 'utf8');
  const initial = [...html.matchAll(/<script src="([^"]+)"/g)].map((m) => join(dist, m[1]));
  const gzipKb = initial.reduce((sum, file) => sum + gzipSync(readFileSync(file)).length, 0) / 1024;
  const all = listFiles(join(dist, '_expo')).filter((f) => f.endsWith('.js'));
  const allRawKb = all.reduce((sum, file) => sum + statSync(file).size, 0) / 1024;
  // The Sentry SDK's own chunk: part of all bundles, fetched only when a DSN is configured.
  const sentryRawKb = all.filter((file) => readFileSync(file, 'utf8').includes('__SENTRY__')).reduce((sum, file) => sum + statSync(file).size, 0) / 1024;
  return { initialGzipKb: Math.round(gzipKb), allRawKb: Math.round(allRawKb), files: all.length, sentryRawKb: Math.round(sentryRawKb) };
}

async function waitForServer(url, seconds) {
  for (let i = 0; i < seconds * 2; i += 1) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`${url} did not answer within ${seconds} s`);
}

async function launchTimes(runs) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const times = [];
  try {
    for (let i = 0; i < runs; i += 1) {
      const context = await browser.newContext();
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
      const started = Date.now();
      await page.goto(base + '/');
      await page.getByTestId('home-search').waitFor({ state: 'visible' });
      await page.getByTestId('home-search').fill('bolt');
      const ms = Date.now() - started;
      times.push({ ms, steps: await page.evaluate(launchSteps) });
      await context.close();
    }
  } finally {
    await browser.close();
  }
  times.sort((a, b) => a.ms - b.ms);
  const median = times[Math.floor(times.length / 2)];
  return { medianMs: median.ms, runsMs: times.map((t) => t.ms), steps: median.steps };
}

/** Where a launch's time went, in the page (ms since navigation): the page itself, the
 * main bundles downloaded, parsed and run (DOMContentLoaded), the first paint. */
function launchSteps() {
  const [nav] = performance.getEntriesByType('navigation');
  const paint = performance.getEntriesByType('paint').find((p) => p.name === 'first-contentful-paint');
  const scripts = performance.getEntriesByType('resource').filter((r) => r.initiatorType === 'script' || r.initiatorType === 'link');
  return {
    page: Math.round(nav.responseEnd),
    'bundles downloaded': Math.round(Math.max(0, ...scripts.map((r) => r.responseEnd).filter((t) => t < nav.domContentLoadedEventEnd))),
    'bundles run (DOMContentLoaded)': Math.round(nav.domContentLoadedEventEnd),
    'first paint': paint ? Math.round(paint.startTime) : null,
  };
}

const size = bundleSizes();
const server = spawn('./e2e/serve-api.sh', { env: { ...process.env, E2E_PORT: String(port) }, stdio: ['ignore', 'ignore', 'inherit'] });
let failed = false;
try {
  await waitForServer(`${base}/health/ready`, 180);
  const launch = await launchTimes(5);
  const rows = [
    ['initial JavaScript, gzip', `${size.initialGzipKb} KB`, `${BUDGET.initialGzipKb} KB`, size.initialGzipKb <= BUDGET.initialGzipKb, true],
    [`all bundles, raw (${size.files} files)`, `${size.allRawKb} KB`, `${BUDGET.allRawKb} KB`, size.allRawKb <= BUDGET.allRawKb, true],
    ['launch to interactive home, 4x CPU throttling (median of 5)', `${launch.medianMs} ms`, `${BUDGET.launchMs} ms`, launch.medianMs <= BUDGET.launchMs, false],
  ];
  for (const [what, value, budget, ok, gates] of rows) {
    console.log(`${ok ? 'ok  ' : 'OVER'}  ${what}: ${value} (budget ${budget})${gates ? '' : ' [reported]'}`);
    failed ||= gates && !ok;
  }
  console.log(`of all bundles, the error reporting SDK's chunk (fetched only with EXPO_PUBLIC_SENTRY_DSN): ${size.sentryRawKb} KB`);
  console.log(`launch runs: ${launch.runsMs.join(', ')} ms`);
  console.log(`median run, ms after navigation: ${Object.entries(launch.steps).map(([step, ms]) => `${step} ${ms}`).join(', ')}`);
} finally {
  server.kill('SIGTERM');
}
process.exit(failed ? 1 : 0);
