// The ringtrace dashboard: plain DOM and SVG, no library, and every call goes to the gateway that
// served the page (CSP default-src 'self'), so nothing is fetched from anywhere else: the gateway
// routes the API to MS1 and a trace to Jaeger (read with jaeger_trace.js, loaded before this file).
'use strict';
(() => {
  const LEGS = ['ms1_to_ms2', 'ms2_to_ms3', 'ms3_to_ms1', 'cycle'];
  const STATUS_RUNNING_MS = 500;   // /status while a session runs
  const STATUS_IDLE_MS = 2000;     // and while none does
  const REPORT_LIVE_MS = 2000;     // /sessions/{id} of the running session
  const $ = (id) => document.getElementById(id);
  const NS = $('throughput').namespaceURI;   // the SVG namespace, read off the page itself
  const view = {
    status: null, liveId: null, shownId: null, follow: true, reportBusy: false, reportAt: 0,
    sessions: new Map(), nextBefore: undefined, statusTimer: 0, rereads: 0,
    hops: null, report: null,   // hops: the reader's choice, 'corrected' or 'raw'; null until one is made
  };
  const REREADS = 10;              // a finished session whose row is not closed yet: read again

  // -- small helpers ------------------------------------------------------------------------------
  function html(tag, attrs = {}, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function svg(parent, tag, attrs = {}, text) {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    parent.appendChild(node);
    return node;
  }
  const clear = (node) => { while (node.firstChild) node.removeChild(node.firstChild); return node; };
  const dash = (v) => (v === null || v === undefined ? '—' : String(v));
  function ms(v) {
    if (v === null || v === undefined) return '—';
    if (v < 1) return v.toFixed(3);
    return v < 100 ? v.toFixed(2) : v.toFixed(1);
  }
  function tickLabel(v) {
    if (v >= 1) return String(Math.round(v * 100) / 100);
    return String(Number(v.toPrecision(2)));
  }
  function niceStep(range, count) {
    const raw = range / count;
    const base = 10 ** Math.floor(Math.log10(raw));
    return [1, 2, 5, 10].map((m) => m * base).find((s) => s >= raw) || base * 10;
  }
  function showError(id, err) {
    const p = $(id);
    p.textContent = err ? (err.message || String(err)) : '';
    p.hidden = !err;
  }

  // GET path: { text, response }; a failure throws an Error naming the call and the API's `error`.
  async function get(path) {
    let response;
    try {
      response = await fetch(path, { headers: { Accept: 'application/json' }, cache: 'no-store' });
    } catch (e) {
      throw new Error(`GET ${path}: the gateway did not answer (${e.message})`);
    }
    const text = await response.text();
    if (!response.ok) {
      let body = null;
      try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
      const why = body && typeof body.error === 'string' ? body.error : (text.trim().slice(0, 200) || response.statusText);
      const retry = response.headers.get('Retry-After');
      throw new Error(`GET ${path} failed: ${response.status} ${why}${retry ? ` (retry in ${retry} s)` : ''}`);
    }
    return { text, response };
  }
  // GET path as a JSON object; failures as get()'s.
  async function api(path) {
    const { text } = await get(path);
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
    if (body === null || typeof body !== 'object') throw new Error(`GET ${path}: the answer is not JSON`);
    return body;
  }

  // -- live progress: /status --------------------------------------------------------------------
  function scheduleStatus(delay) {
    clearTimeout(view.statusTimer);
    view.statusTimer = setTimeout(pollStatus, delay);
  }
  async function pollStatus() {
    let running = false;
    try {
      const s = await api('/status');
      showError('status-error', null);
      running = s.state !== 'idle';
      drawStatus(s);
    } catch (e) {
      showError('status-error', e);
    }
    scheduleStatus(running ? STATUS_RUNNING_MS : STATUS_IDLE_MS);
  }
  function drawStatus(s) {
    const was = view.status;
    view.status = s;
    const running = s.state !== 'idle';
    $('state').textContent = s.state;
    $('start').disabled = running;
    $('stop').disabled = !running;
    const bar = $('progress-bar');
    const seconds = (s.elapsed_ms || 0) / 1000;
    const links = [s.ms2_connected === false ? 'MS2 not connected' : '', s.database_connected === false ? 'database not connected' : '']
      .filter(Boolean).join(', ');
    let text;
    if (running) {
      const of = s.duration_seconds ? ` of ${s.duration_seconds} s` : '';
      text = `Session ${s.session_id} ${s.state}: sent ${s.sent}, stored ${s.stored}, in flight ${s.in_flight}, ` +
        `lost ${s.lost}, resent ${s.resent}; ${seconds.toFixed(1)} s${of}` + (s.window ? `, window ${s.window}` : '');
      if (s.duration_seconds) bar.value = Math.min(1, seconds / s.duration_seconds); else bar.removeAttribute('value');
    } else if (s.last_session) {
      const l = s.last_session;
      text = `Session ${l.session_id} finished (${l.reason}) after ${(l.elapsed_ms / 1000).toFixed(1)} s: ` +
        `sent ${l.messages}, stored ${l.stored}, lost ${l.lost}, resent ${l.resent}`;
      bar.value = 1;
    } else {
      text = 'No session has run since MS1 started.';
      bar.value = 0;
    }
    $('progress').textContent = links ? `${text} (${links})` : text;

    if (running && s.session_id && s.session_id !== view.liveId) {
      view.liveId = s.session_id;
      loadSessions(false);
      if (view.follow) selectSession(s.session_id, true);
    } else if (running && view.shownId === view.liveId && !view.reportBusy &&
               Date.now() - view.reportAt >= REPORT_LIVE_MS) {
      loadReport(view.shownId);
    }
    if (!running && was && was.state !== 'idle' && view.liveId !== null) {
      const finished = view.liveId;
      view.liveId = null;
      loadSessions(false);
      if (view.shownId === finished) loadReport(finished);
    }
  }

  $('controls').addEventListener('submit', async (event) => {
    event.preventDefault();
    const duration = encodeURIComponent($('duration').value);
    const win = encodeURIComponent($('window').value);
    $('start').disabled = true;
    showError('control-error', null);
    try {
      await api(`/start?duration_seconds=${duration}&window=${win}`);
      view.follow = true;
    } catch (e) {
      showError('control-error', e);
    }
    pollStatus();
  });
  $('stop').addEventListener('click', async () => {
    $('stop').disabled = true;
    showError('control-error', null);
    try { await api('/stop'); } catch (e) { showError('control-error', e); }
    pollStatus();
  });

  // -- the sessions list: /sessions, newest first, "more" pages by next_before ---------------------
  async function loadSessions(more) {
    const path = more && view.nextBefore ? `/sessions?limit=20&before=${view.nextBefore}` : '/sessions?limit=20';
    try {
      const page = await api(path);
      showError('sessions-error', null);
      for (const s of page.sessions) view.sessions.set(s.session_id, s);
      if (more || view.nextBefore === undefined) view.nextBefore = page.next_before;
      $('more-sessions').hidden = view.nextBefore === null;
      drawSessions();
      if (view.shownId === null && view.liveId === null && page.sessions.length) {
        selectSession(page.sessions[0].session_id, false);
      }
    } catch (e) {
      showError('sessions-error', e);
    }
  }
  function drawSessions() {
    const body = clear($('sessions').tBodies[0]);
    const ids = [...view.sessions.keys()].sort((a, b) => b - a);
    for (const id of ids) {
      const s = view.sessions.get(id);
      const row = html('tr', { 'data-session-id': id, class: id === view.shownId ? 'selected' : undefined,
        'aria-current': id === view.shownId ? 'true' : undefined });
      const open = html('button', { type: 'button', class: 'open-session', 'aria-label': `Show session ${id}` }, `#${id}`);
      const first = html('td');
      first.appendChild(open);
      row.appendChild(first);
      const started = s.started_at ? s.started_at.replace('T', ' ').replace(/\.\d+Z$|Z$/, '') : '—';
      const elapsed = s.elapsed_seconds === null || s.elapsed_seconds === undefined ? '—' : s.elapsed_seconds.toFixed(1);
      for (const v of [started, s.duration_seconds, s.window_size, s.naming, s.reason || 'running',
        dash(s.sent), dash(s.stored), dash(s.lost), dash(s.resent), elapsed]) {
        row.appendChild(html('td', {}, String(v)));
      }
      row.addEventListener('click', () => selectSession(id, false));
      body.appendChild(row);
    }
  }
  $('more-sessions').addEventListener('click', () => loadSessions(true));

  // -- one session's report: /sessions/{id} -------------------------------------------------------
  function selectSession(id, live) {
    view.shownId = id;
    view.follow = live || id === view.liveId;
    drawSessions();
    loadReport(id);
  }
  async function loadReport(id) {
    view.reportBusy = true;
    try {
      const report = await api(`/sessions/${id}`);
      if (id === view.shownId) {
        showError('report-error', null);
        drawReport(report);
      }
    } catch (e) {
      if (id === view.shownId) showError('report-error', e);
    } finally {
      view.reportBusy = false;
      view.reportAt = Date.now();
    }
  }
  function drawReport(r) {
    const s = r.session;
    const open = !s.finished_at;
    // MS1 is idle but the row is not closed yet: read it again shortly, a few times at most.
    if (open && s.session_id !== view.liveId && view.rereads < REREADS) {
      view.rereads += 1;
      setTimeout(() => { if (view.shownId === s.session_id) loadReport(s.session_id); }, 1000);
    } else if (!open) {
      view.rereads = 0;
    }
    $('report-title').textContent = `Report of session ${s.session_id}${open ? ' (running)' : ''}`;
    $('report-summary').textContent = `Started ${s.started_at}, ${s.duration_seconds} s asked, window ${s.window_size}, ` +
      `naming ${s.naming}; ` + (open ? 'still running: the rows stored so far.' :
      `finished (${s.reason}): sent ${dash(s.sent)}, stored ${dash(s.stored)}, lost ${dash(s.lost)}, resent ${dash(s.resent)}.`);
    view.report = r;
    drawHops(r);
    drawThroughput($('throughput'), r.throughput, s);
  }

  // -- corrected or raw hops ----------------------------------------------------------------------
  // A hop's two stamps come from two services' clocks; MS1 estimates how far MS2's and MS3's clocks
  // are from its own, and the report carries each hop corrected by those offsets beside the raw one.
  // Corrected is shown whenever every hop has it (unless the reader picks raw); the caption always
  // says which figures are on screen and the offsets behind them.
  const CLOCK_NAMES = { ms2: 'MS2', ms3: 'MS3' };
  function signedMs(v) { return `${v < 0 ? '−' : '+'}${ms(Math.abs(v))}`; }
  function hopsChoice(r) {
    const hops = r.legs.filter((leg) => LEGS.includes(leg.leg));
    const corrected = hops.length > 0 && hops.every((leg) => leg.corrected);
    if (!corrected) return { corrected: false, note: 'no clock estimate for this session' };
    return { corrected: view.hops !== 'raw', note: '' };
  }
  function clockCaption(r, shown) {
    const clocks = r.clocks || r.session.clocks || [];
    const offsets = clocks.map((c) => `${CLOCK_NAMES[c.clock] || c.clock} ${signedMs(c.offset_ms)} ± ${ms(c.uncertainty_ms)} ms`);
    if (shown.corrected) {
      return `Corrected hops: each hop shifted by the clock offsets MS1 estimated (${offsets.join(', ')}); ` +
        'a figure ± its uncertainty. The whole cycle is timed on MS1\'s clock alone.';
    }
    if (shown.note) return `Raw hops: ${shown.note}, so each hop is the difference of two services' clocks as they wrote them.`;
    return `Raw hops: each hop is the difference of two services' clocks as they wrote them` +
      (offsets.length ? ` (estimated offsets: ${offsets.join(', ')}).` : '.');
  }
  function drawHops(r) {
    const shown = hopsChoice(r);
    $('hops-corrected').checked = shown.corrected;
    $('hops-raw').checked = !shown.corrected;
    $('hops-corrected').disabled = Boolean(shown.note);
    $('clock-caption').textContent = clockCaption(r, shown);
    for (const leg of r.legs) {
      if (!LEGS.includes(leg.leg)) continue;
      const figures = shown.corrected ? { ...leg.corrected, count: leg.count } : leg;
      drawHistogram($(`histogram-${leg.leg}`), figures);
      const stats = clear($(`stats-${leg.leg}`));
      if (!leg.count) {
        stats.textContent = 'No message has this leg yet.';
        continue;
      }
      const u = shown.corrected ? ` ± ${ms(figures.uncertainty_ms)}` : '';
      stats.textContent = `${leg.count} messages; min ${ms(figures.min_ms)}, p50 ${ms(figures.p50_ms)}${u}, ` +
        `p90 ${ms(figures.p90_ms)}, p99 ${ms(figures.p99_ms)}, max ${ms(figures.max_ms)} ms`;
      if (shown.corrected && figures.below_uncertainty) {
        stats.appendChild(document.createTextNode(' '));
        stats.appendChild(html('span', { class: 'badge', 'data-flag': 'below-uncertainty',
          title: 'The clock estimate cannot tell this hop apart from zero' }, 'shorter than its uncertainty'));
      }
    }
    drawSlowest(r.slowest || [], shown.corrected);
  }
  for (const input of document.querySelectorAll('input[name="hops"]')) {
    input.addEventListener('change', () => {
      view.hops = input.value;
      if (view.report) drawHops(view.report);
    });
  }

  // A latency histogram: one bar per bucket on a log x axis in ms, count on y, p50 and p99 marked.
  function drawHistogram(node, leg) {
    const W = 520, H = 240, L = 46, R = 12, T = 30, B = 40, pw = W - L - R, ph = H - T - B;
    clear(node).setAttribute('viewBox', `0 0 ${W} ${H}`);
    const buckets = (leg.buckets || []).filter((b) => b.upper_ms > 0);
    if (!leg.count || !buckets.length) {
      svg(node, 'text', { x: W / 2, y: H / 2, class: 'empty', 'text-anchor': 'middle' }, 'no messages');
      return;
    }
    const lower = (b) => (b.lower_ms > 0 ? b.lower_ms : b.upper_ms / 10 ** 0.1);
    const lo = Math.log10(lower(buckets[0])), hi = Math.log10(buckets[buckets.length - 1].upper_ms);
    const x = (v) => L + Math.min(1, Math.max(0, (Math.log10(v) - lo) / (hi - lo))) * pw;
    const top = Math.max(...buckets.map((b) => b.count));
    const y = (c) => T + ph - (c / top) * ph;
    axes(node, L, T, pw, ph, 'latency (ms, log scale)', 'messages');
    for (const v of [0, Math.round(top / 2), top].filter((v, i, a) => a.indexOf(v) === i)) {
      svg(node, 'line', { x1: L - 4, x2: L, y1: y(v), y2: y(v), class: 'tick' });
      svg(node, 'text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'tick-label' }, String(v));
    }
    for (const v of logTicks(lo, hi)) {
      svg(node, 'line', { x1: x(v), x2: x(v), y1: T + ph, y2: T + ph + 4, class: 'tick' });
      svg(node, 'text', { x: x(v), y: T + ph + 16, 'text-anchor': 'middle', class: 'tick-label' }, tickLabel(v));
    }
    for (const b of buckets) {
      if (b.count <= 0) continue;
      const x0 = x(lower(b)), x1 = x(b.upper_ms), h = Math.max(1, T + ph - y(b.count));
      const bar = svg(node, 'rect', { class: 'bar', x: x0 + 0.5, width: Math.max(1, x1 - x0 - 1), y: T + ph - h, height: h });
      svg(bar, 'title', {}, `${ms(b.lower_ms)}–${ms(b.upper_ms)} ms: ${b.count} messages`);
    }
    [['p50', leg.p50_ms, 10], ['p99', leg.p99_ms, 22]].forEach(([name, v, ty]) => {
      if (v === null || v === undefined || v <= 0) return;
      const px = x(v);
      svg(node, 'line', { x1: px, x2: px, y1: ty + 3, y2: T + ph, class: `marker ${name}` });
      const anchor = px > L + pw - 40 ? 'end' : px < L + 40 ? 'start' : 'middle';
      svg(node, 'text', { x: px, y: ty, 'text-anchor': anchor, class: `marker-label ${name}` }, `${name} ${ms(v)} ms`);
    });
  }
  function logTicks(lo, hi) {
    const ticks = [];
    for (let k = Math.ceil(lo - 1e-9); k <= Math.floor(hi + 1e-9); k++) ticks.push(10 ** k);
    if (ticks.length < 3) {
      for (let k = Math.floor(lo) - 1; k <= Math.ceil(hi); k++) {
        for (const m of [2, 5]) {
          const v = m * 10 ** k, l = Math.log10(v);
          if (l >= lo - 1e-9 && l <= hi + 1e-9) ticks.push(v);
        }
      }
    }
    if (ticks.length < 2) ticks.push(10 ** lo, 10 ** hi);
    return ticks.sort((a, b) => a - b);
  }
  function axes(node, L, T, pw, ph, xTitle, yTitle) {
    svg(node, 'line', { x1: L, x2: L + pw, y1: T + ph, y2: T + ph, class: 'axis' });
    svg(node, 'line', { x1: L, x2: L, y1: T, y2: T + ph, class: 'axis' });
    svg(node, 'text', { x: L + pw / 2, y: T + ph + 32, 'text-anchor': 'middle', class: 'axis-title' }, xTitle);
    svg(node, 'text', { x: 12, y: T + ph / 2, 'text-anchor': 'middle', class: 'axis-title',
      transform: `rotate(-90 12 ${T + ph / 2})` }, yTitle);
  }

  // The throughput timeline: messages per second in each slice of the session, over t.
  function drawThroughput(node, throughput, session) {
    const W = 1100, H = 230, L = 52, R = 14, T = 14, B = 40, pw = W - L - R, ph = H - T - B;
    clear(node).setAttribute('viewBox', `0 0 ${W} ${H}`);
    const points = (throughput && throughput.points) || [];
    const w = (throughput && throughput.bucket_seconds) || 1;
    if (!points.length) {
      svg(node, 'text', { x: W / 2, y: H / 2, class: 'empty', 'text-anchor': 'middle' }, 'no messages yet');
      $('stats-throughput').textContent = '';
      return;
    }
    const end = Math.max(session.duration_seconds || 0, session.elapsed_seconds || 0, points[points.length - 1].t_seconds + w);
    const top = Math.max(1, ...points.map((p) => p.per_second));
    const x = (t) => L + (t / end) * pw;
    const y = (v) => T + ph - (v / top) * ph;
    axes(node, L, T, pw, ph, 't (seconds since the start)', 'messages/s');
    const xs = niceStep(end, 8);
    for (let t = 0; t <= end + 1e-9; t += xs) {
      svg(node, 'line', { x1: x(t), x2: x(t), y1: T + ph, y2: T + ph + 4, class: 'tick' });
      svg(node, 'text', { x: x(t), y: T + ph + 16, 'text-anchor': 'middle', class: 'tick-label' }, tickLabel(t));
    }
    const ys = niceStep(top, 4);
    for (let v = 0; v <= top + 1e-9; v += ys) {
      svg(node, 'line', { x1: L - 4, x2: L + pw, y1: y(v), y2: y(v), class: v ? 'grid' : 'tick' });
      svg(node, 'text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'tick-label' }, tickLabel(v));
    }
    for (const p of points) {
      const h = p.messages > 0 ? Math.max(1, T + ph - y(p.per_second)) : 0;
      const slice = svg(node, 'rect', { class: 'slice', x: x(p.t_seconds) + 0.5, width: Math.max(1, x(p.t_seconds + w) - x(p.t_seconds) - 1),
        y: T + ph - h, height: h });
      svg(slice, 'title', {}, `${p.t_seconds}–${p.t_seconds + w} s: ${p.messages} messages (${p.per_second.toFixed(1)}/s)`);
    }
    svg(node, 'polyline', { class: 'line', points: points.map((p) => `${x(p.t_seconds + w / 2)},${y(p.per_second)}`).join(' ') });
    const total = points.reduce((n, p) => n + p.messages, 0);
    const peak = Math.max(...points.map((p) => p.per_second));
    $('stats-throughput').textContent = `${total} messages in ${points.length} slices of ${w} s; peak ${peak.toFixed(1)} messages/s`;
  }

  // -- the slowest messages and their traces: /traces/{trace_id} ------------------------------------
  function drawSlowest(slowest, corrected) {
    const body = clear($('slowest').tBodies[0]);
    if (!slowest.length) {
      const row = body.appendChild(html('tr'));
      row.appendChild(html('td', { colspan: 6 }, 'No stored message yet.'));
      return;
    }
    for (const m of slowest) {
      const row = html('tr', { 'data-message-id': m.id });
      const h = corrected && m.corrected ? { ...m, ...m.corrected } : m;
      for (const v of [m.id, ms(m.cycle_ms), ms(h.ms1_to_ms2_ms), ms(h.ms2_to_ms3_ms), ms(h.ms3_to_ms1_ms)]) {
        row.appendChild(html('td', {}, String(v)));
      }
      const cell = row.appendChild(html('td'));
      const button = cell.appendChild(html('button', { type: 'button', class: 'show-trace', 'data-trace-id': m.trace_id,
        'aria-label': `Show the trace of message ${m.id}` }, m.trace_id ? 'Show trace' : 'untraced'));
      if (m.trace_id) button.addEventListener('click', () => showTrace(m.trace_id, m.id));
      else button.disabled = true;
      body.appendChild(row);
    }
  }
  // GET /traces/{id} is Jaeger's own answer, relayed by the gateway (with the UI to link to in
  // X-Jaeger-UI when there is one); the page turns it into what it draws.
  async function loadTrace(traceId) {
    const path = `/traces/${traceId}`;
    const { text, response } = await get(path);
    const got = window.ringtraceJaeger.translateJaegerTrace(text, traceId, response.headers.get('X-Jaeger-UI') || '');
    if (got.answer === 'not-found') throw new Error(`GET ${path}: trace ${traceId} not found in Jaeger`);
    if (got.answer !== 'trace') throw new Error(`GET ${path}: Jaeger's answer is not a trace: ${got.error}`);
    return got.trace;
  }
  async function showTrace(traceId, messageId) {
    $('trace-summary').textContent = `Loading the trace of message ${messageId} (${traceId})…`;
    try {
      const trace = await loadTrace(traceId);
      showError('trace-error', null);
      drawTrace(trace, messageId);
    } catch (e) {
      showError('trace-error', e);
      $('trace-summary').textContent = `The trace of message ${messageId} (${traceId}) could not be shown.`;
      clear($('trace'));
    }
    $('trace-panel').scrollIntoView({ block: 'nearest' });
  }

  // The waterfall: one row per span, children under their parent (by start), a bar placed by the
  // span's start and sized by its duration; a row opens to its attributes.
  function drawTrace(trace, messageId) {
    const spans = trace.spans || [];
    const root = clear($('trace'));
    const summary = clear($('trace-summary'));
    if (!spans.length) {
      summary.textContent = `Trace ${trace.trace_id} has no spans.`;
      return;
    }
    const byId = new Map(spans.map((s) => [s.span_id, s]));
    const children = new Map();
    const roots = [];
    for (const s of spans) {
      if (s.parent_span_id && byId.has(s.parent_span_id)) {
        if (!children.has(s.parent_span_id)) children.set(s.parent_span_id, []);
        children.get(s.parent_span_id).push(s);
      } else {
        roots.push(s);
      }
    }
    const t0 = Math.min(...spans.map((s) => s.start_unix_us));
    const t1 = Math.max(...spans.map((s) => s.start_unix_us + s.duration_us));
    const total = Math.max(1, t1 - t0);
    const services = [...new Set(spans.map((s) => s.service))].sort();
    summary.textContent = `Message ${messageId}: ${spans.length} spans of ${services.join(', ')} over ${ms(total / 1000)} ms ` +
      `(trace ${trace.trace_id}). Open a row for its attributes.`;
    if (trace.jaeger_ui && ['http:', 'https:'].includes(new URL(trace.jaeger_ui, document.baseURI).protocol)) {
      summary.appendChild(document.createTextNode(' '));
      summary.appendChild(html('a', { id: 'jaeger-link', href: trace.jaeger_ui, rel: 'noopener' }, 'Open in the Jaeger UI'));
    }
    const byStart = (a, b) => a.start_unix_us - b.start_unix_us;
    const visit = (s, depth) => {
      root.appendChild(spanRow(s, depth, t0, total));
      for (const c of (children.get(s.span_id) || []).sort(byStart)) visit(c, depth + 1);
    };
    roots.sort(byStart).forEach((s) => visit(s, 0));
  }
  function spanRow(s, depth, t0, total) {
    const row = html('details', { class: `span status-${s.status}`, 'data-span-id': s.span_id,
      'data-parent': s.parent_span_id || '', 'data-service': s.service });
    const head = row.appendChild(html('summary'));
    const label = `${s.service} · ${s.name}${s.status === 'error' ? ' (error)' : ''}`;
    head.appendChild(html('span', { class: `span-label depth-${Math.min(depth, 8)}`, title: label }, label));
    const bar = document.createElementNS(NS, 'svg');
    bar.setAttribute('class', 'span-bar');
    bar.setAttribute('viewBox', '0 0 1000 12');
    bar.setAttribute('preserveAspectRatio', 'none');
    bar.setAttribute('aria-hidden', 'true');
    svg(bar, 'rect', { class: 'track', x: 0, y: 0, width: 1000, height: 12 });
    const offset = ((s.start_unix_us - t0) / total) * 1000;
    svg(bar, 'rect', { class: `span-rect service-${s.service}`, x: offset, y: 1, height: 10,
      width: Math.max(2, (s.duration_us / total) * 1000) });
    head.appendChild(bar);
    head.appendChild(html('span', { class: 'span-time' },
      `+${ms((s.start_unix_us - t0) / 1000)} ms, ${ms(s.duration_us / 1000)} ms`));
    const list = row.appendChild(html('dl', { class: 'span-attributes' }));
    const facts = [['kind', dash(s.kind)], ['status', s.status], ['span id', s.span_id], ['parent', s.parent_span_id || '(root)'],
      ...Object.entries(s.attributes || {}).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])];
    for (const [k, v] of facts) {
      list.appendChild(html('dt', {}, k));
      list.appendChild(html('dd', {}, v));
    }
    return row;
  }

  pollStatus();
  loadSessions(false);
})();
