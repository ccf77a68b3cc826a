// How long a reviewer far away waits for the review queue: Chromium with the DevTools
// protocol's network emulation (10 Mbit/s both ways, 150 ms round trip by default), logged in
// without loading any page (so the cache is cold), then the queue page loaded cold and
// loaded again warm, each timed from navigation to hydrated. Prints the bytes each static file
// took over the wire.
//
//   node end2end/measure-load.mjs [BASE_URL] [--mbit 10] [--rtt 150] [--runs 3]
//
// A benchmark, not a test: run it against a release build (`scripts/run.sh`).
import { chromium } from '@playwright/test';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const base = args.find((a) => a.startsWith('http')) ?? 'http://127.0.0.1:3000';
const mbit = opt('mbit', 10);
const rtt = opt('rtt', 150);
const runs = opt('runs', 3);
const email = process.env.AMSO_MEASURE_EMAIL ?? 'reviewer@amso.test';
const password = process.env.AMSO_MEASURE_PASSWORD ?? 'reviewer-demo-pass';

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
});

async function once() {
  const context = await browser.newContext();
  const login = await context.request.post(`${base}/rpc/login`, {
    form: { email, password },
    headers: { accept: 'application/json' },
  });
  if (!login.ok()) throw new Error(`login failed: ${login.status()} ${await login.text()}`);
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: rtt,
    downloadThroughput: (mbit * 1e6) / 8,
    uploadThroughput: (mbit * 1e6) / 8,
  });
  const wire = new Map();
  const urls = new Map();
  cdp.on('Network.responseReceived', (e) => urls.set(e.requestId, e.response.url));
  cdp.on('Network.loadingFinished', (e) => {
    const url = urls.get(e.requestId);
    if (url) wire.set(new URL(url).pathname, e.encodedDataLength);
  });
  const timed = async () => {
    const started = Date.now();
    await page.goto(`${base}/queues`, { waitUntil: 'commit' });
    await page.waitForSelector('body[data-hydrated="true"]', { timeout: 60_000 });
    return Date.now() - started;
  };
  const cold = await timed();
  const coldWire = new Map(wire);
  wire.clear();
  const warm = await timed();
  await context.close();
  return { cold, warm, coldWire, warmWire: wire };
}

const results = [];
for (let i = 0; i < runs; i++) results.push(await once());
await browser.close();

const kb = (n) => `${(n / 1024).toFixed(0)} KiB`;
console.log(`${base}/queues at ${mbit} Mbit/s, ${rtt} ms round trip, ${runs} runs`);
console.log(`cold load to hydrated: ${results.map((r) => r.cold).join(' / ')} ms`);
console.log(`warm load to hydrated: ${results.map((r) => r.warm).join(' / ')} ms`);
for (const [path, bytes] of results[0].coldWire) {
  if (path.startsWith('/pkg/') || path === '/queues') {
    const again = results[0].warmWire.get(path);
    console.log(`  ${path}: ${kb(bytes)} cold, ${again === undefined ? 'not asked' : kb(again)} warm`);
  }
}
