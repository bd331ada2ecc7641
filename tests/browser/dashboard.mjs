// The dashboard in a real browser: Debian's chromium, driven by playwright-core, against the API
// gateway in front of a running ring (the gateway serves the page and relays its traces). Starts a session from the page, follows its progress to the finish, checks that every
// histogram and the throughput chart drew, opens a past session, opens one slowest message's trace
// as a waterfall, shows hops corrected for clock offsets and raw on request, and saves a screenshot. Any console error, page error or failed request fails it.
//
//   node dashboard.mjs --url http://127.0.0.1:PORT --screenshot FILE [--duration 4] [--window 8]
//                      [--past-session N] [--services ms1,ms2,ms3]
// RINGTRACE_BROWSER_MODULES: the node_modules directory holding playwright-core (browser_test.py
// installs it). Prints one ok/FAIL line a check and `dashboard session: N`; exits 1 on a failure.

import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  options: {
    url: { type: 'string' },
    screenshot: { type: 'string' },
    duration: { type: 'string', default: '4' },
    window: { type: 'string', default: '8' },
    'past-session': { type: 'string' },
    services: { type: 'string', default: 'ms1,ms2,ms3' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
  },
});
if (!opt.url || !opt.screenshot) {
  console.error('usage: dashboard.mjs --url URL --screenshot FILE [--duration S] [--window W] [--past-session N]');
  process.exit(2);
}
const modules = process.env.RINGTRACE_BROWSER_MODULES;
if (!modules) {
  console.error('RINGTRACE_BROWSER_MODULES must name the node_modules holding playwright-core');
  process.exit(2);
}
const { chromium } = createRequire(join(modules, 'noop.js'))('playwright-core');
// The page's own reading of Jaeger's answer, to wait (outside the page) for a complete trace.
const { translateJaegerTrace } = createRequire(import.meta.url)('../../gateway/web/assets/jaeger_trace.js');

const LEGS = ['ms1_to_ms2', 'ms2_to_ms3', 'ms3_to_ms1', 'cycle'];
const duration = Number(opt.duration);
let failed = 0;
function check(what, ok, detail) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} - ${what}`);
  if (!ok) {
    failed += 1;
    if (detail) console.log(`       ${detail}`);
  }
  return ok;
}
// Waits (polling, with a deadline) for fn to return something truthy in the page; null on timeout.
async function until(page, fn, arg, timeoutMs) {
  try {
    return await (await page.waitForFunction(fn, arg, { timeout: timeoutMs, polling: 100 })).jsonValue();
  } catch (e) {
    if (e.name === 'TimeoutError') return null;
    throw e;
  }
}
const text = (page, selector) => page.locator(selector).first().textContent();

const problems = [];
const userData = mkdtempSync(join(tmpdir(), 'ringtrace-chromium.'));
const context = await chromium.launchPersistentContext(userData, {
  executablePath: opt.chromium,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
  viewport: { width: 1280, height: 900 },
});
let sessionId = null;
try {
  const page = context.pages()[0] || await context.newPage();
  // The browser's own request for /favicon.ico (the page names no icon) is not the page's.
  const ours = (m) => !new URL(m.location().url || opt.url, opt.url).pathname.endsWith('/favicon.ico');
  page.on('console', (m) => {
    if (m.type() === 'error' && ours(m)) problems.push(`console error: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`); });

  const loaded = await page.goto(opt.url, { waitUntil: 'load' });
  check('GET / serves the dashboard', loaded && loaded.status() === 200, loaded && `status ${loaded.status()}`);
  const csp = (loaded && loaded.headers()['content-security-policy']) || '';
  check("the page comes with CSP default-src 'self'", csp.includes("default-src 'self'"), csp);
  const requestId = (loaded && loaded.headers()['x-request-id']) || '';
  check(`the page comes from the gateway (X-Request-Id ${requestId})`, requestId !== '');
  const idle = await until(page, () => document.getElementById('state').textContent === 'idle', null, 15000);
  check('#state shows MS1 idle', idle, await text(page, '#state'));

  // -- a session started from the page: live progress, then the finish ----------------------------
  await page.fill('#duration', String(duration));
  await page.fill('#window', opt.window);
  await page.click('#start');
  const first = await until(page, () => {
    const m = /sent (\d+), stored (\d+)/.exec(document.getElementById('progress').textContent);
    return m && document.getElementById('state').textContent !== 'idle' && Number(m[1]) > 0 && Number(m[1]);
  }, null, 15000);
  check('#progress shows messages sent while the session runs', first, await text(page, '#progress'));
  const later = await until(page, (n) => {
    const m = /sent (\d+)/.exec(document.getElementById('progress').textContent);
    return m && Number(m[1]) > n && Number(m[1]);
  }, first || 0, 15000);
  check(`the sent count advances (${first} then ${later})`, later && later > first, await text(page, '#progress'));
  const bar = await page.locator('#progress-bar').evaluate((b) => b.value);
  check(`the progress bar moves against the duration (${bar})`, bar > 0 && bar <= 1);
  const finished = await until(page, () => {
    const m = /Session (\d+) finished \(duration\)/.exec(document.getElementById('progress').textContent);
    return document.getElementById('state').textContent === 'idle' && m && Number(m[1]);
  }, null, (duration + 40) * 1000);
  check('#state returns to idle and #progress shows the finish', finished, await text(page, '#progress'));
  sessionId = finished;
  if (sessionId) console.log(`dashboard session: ${sessionId}`);

  // -- the finished session's report: four histograms and the throughput ---------------------------
  const bars = await until(page, (legs) => {
    const shown = document.getElementById('report-title').textContent;
    const counts = legs.map((leg) => [...document.querySelectorAll(`#histogram-${leg} rect.bar`)]
      .filter((r) => Number(r.getAttribute('height')) > 0).length);
    return !shown.includes('running') && counts.every((n) => n > 0) && counts;
  }, LEGS, 20000);
  check(`every leg's histogram drew bars (${bars})`, bars, await text(page, '#report-title'));
  for (const leg of LEGS) {
    const stats = await text(page, `#stats-${leg}`);
    check(`${leg}: p50 and p99 marked on the histogram`,
      await page.locator(`#histogram-${leg} line.marker.p50`).count() === 1 &&
      await page.locator(`#histogram-${leg} line.marker.p99`).count() === 1, stats);
  }
  // -- corrected hops by default, raw on request: the caption always says which ------------------
  if (sessionId) {
    const report = await (await fetch(new URL(`/sessions/${sessionId}`, opt.url))).json();
    const hops = report.legs.filter((leg) => leg.leg !== 'cycle');
    const estimated = hops.length === 3 && hops.every((leg) => leg.corrected);
    check('the report has every hop corrected by the ring\'s clock estimates', estimated,
      JSON.stringify(report.clocks || report.session.clocks || null));
    const caption = await text(page, '#clock-caption');
    check('corrected hops are shown by default, the caption names both offsets',
      await page.isChecked('#hops-corrected') && /^Corrected hops/.test(caption) && /MS2 [+−]/.test(caption) &&
      /MS3 [+−]/.test(caption), caption);
    for (const leg of hops) {
      const stats = await text(page, `#stats-${leg.leg}`);
      const badge = await page.locator(`#stats-${leg.leg} .badge[data-flag="below-uncertainty"]`).count();
      check(`${leg.leg}: p50 with its uncertainty, flagged exactly when the report flags it`,
        stats.includes(' ± ') && badge === (leg.corrected && leg.corrected.below_uncertainty ? 1 : 0),
        `${stats} (below_uncertainty ${leg.corrected && leg.corrected.below_uncertainty})`);
    }
    await page.click('#hops-raw');
    const raw = await until(page, () => /^Raw hops/.test(document.getElementById('clock-caption').textContent) &&
      !document.getElementById('stats-ms1_to_ms2').textContent.includes('±'), null, 5000);
    check('choosing raw shows the raw hops and says so', raw, await text(page, '#clock-caption'));
    await page.click('#hops-corrected');
  }

  const slices = await page.locator('#throughput rect.slice').count();
  const line = await page.locator('#throughput polyline.line').count();
  check(`the throughput chart drew (${slices} slices)`, slices > 0 && line === 1, await text(page, '#stats-throughput'));
  const row = sessionId ? await page.locator(`#sessions tr[data-session-id="${sessionId}"]`).count() : 0;
  check('the new session is listed in #sessions', row === 1);

  // -- a past session, opened from the list -------------------------------------------------------
  const past = opt['past-session'] ||
    await page.locator('#sessions tr[data-session-id]').evaluateAll((rows, id) =>
      rows.map((r) => r.dataset.sessionId).find((s) => s !== String(id)), sessionId);
  if (check('#sessions lists a past session to open', past)) {
    await page.click(`#sessions tr[data-session-id="${past}"]`);
    const shown = await until(page, (id) => {
      const title = document.getElementById('report-title').textContent;
      return title === `Report of session ${id}` &&
        document.querySelectorAll('#histogram-cycle rect.bar').length > 0 && title;
    }, past, 15000);
    check(`clicking session ${past} shows its report and histograms`, shown, await text(page, '#report-title'));
    await page.click(`#sessions tr[data-session-id="${sessionId}"]`);
    const back = await until(page, (id) => document.getElementById('report-title').textContent === `Report of session ${id}`,
      sessionId, 15000);
    check(`clicking session ${sessionId} shows it again`, back);
  }

  // -- one slowest message's trace as a waterfall -------------------------------------------------
  const buttons = await page.locator('#slowest .show-trace:not([disabled])').count();
  check(`#slowest lists messages with a trace (${buttons})`, buttons > 0);
  const traceId = buttons ? await page.locator('#slowest .show-trace:not([disabled])').first().getAttribute('data-trace-id') : null;
  const wanted = opt.services.split(',');
  let relayed = false;   // Jaeger batches spans: wait (outside the page) until the trace is complete
  for (const deadline = Date.now() + 30000; traceId && !relayed && Date.now() < deadline;) {
    try {
      const r = await fetch(new URL(`/traces/${traceId}`, opt.url));
      const got = r.ok ? translateJaegerTrace(await r.text(), traceId, '') : null;
      const services = new Set(got && got.answer === 'trace' ? got.trace.spans.map((s) => s.service) : []);
      relayed = wanted.every((s) => services.has(s));
    } catch (e) { relayed = false; }
    if (!relayed) await new Promise((done) => setTimeout(done, 500));
  }
  if (check(`GET /traces/${traceId} has spans of ${wanted.join(', ')}`, relayed)) {
    await page.locator('#slowest .show-trace:not([disabled])').first().click();
    const drawn = await until(page, (services) => {
      const rows = [...document.querySelectorAll('#trace .span')];
      const ids = new Set(rows.map((r) => r.dataset.spanId));
      const have = new Set(rows.map((r) => r.dataset.service));
      const linked = rows.every((r) => r.hasAttribute('data-parent') && (r.dataset.parent === '' || ids.has(r.dataset.parent)));
      const under = rows.every((r, i) => r.dataset.parent === '' ||
        rows.slice(0, i).some((p) => p.dataset.spanId === r.dataset.parent));
      return services.every((s) => have.has(s)) && linked && under && rows.length;
    }, wanted, 15000);
    check(`the waterfall shows ${drawn} spans of ${wanted.join(', ')}, each under its parent`, drawn, await text(page, '#trace-summary'));
    const bars = await page.locator('#trace .span rect.span-rect').evaluateAll((rs) => rs.every((r) => Number(r.getAttribute('width')) > 0));
    check('every span has a bar', bars);
    await page.locator('#trace .span summary').first().click();
    const attrs = await page.locator('#trace .span[open] .span-attributes dt').count();
    check(`a span opens to its attributes (${attrs} shown)`, attrs >= 4);
    const jaeger = await page.locator('#jaeger-link').count();
    console.log(`       Jaeger UI link: ${jaeger ? await page.locator('#jaeger-link').getAttribute('href') : 'none (the gateway names no Jaeger UI)'}`);
  }

  mkdirSync(dirname(opt.screenshot), { recursive: true });
  await page.screenshot({ path: opt.screenshot, fullPage: true });
  console.log(`       screenshot: ${opt.screenshot}`);
} catch (e) {
  check('the browser session ran to its end', false, e.stack || String(e));
} finally {
  await context.close();
  rmSync(userData, { recursive: true, force: true });
}
check(`no console error, page error or failed request (${problems.length})`, problems.length === 0, problems.join('\n       '));
console.log(`browser: ${failed ? 'FAILED' : 'passed'}`);
process.exit(failed ? 1 : 0);
