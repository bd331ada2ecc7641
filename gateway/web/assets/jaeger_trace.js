// Jaeger's answer to GET /api/traces/{id} (which the gateway relays as GET /traces/{id}, untouched:
// nginx cannot rewrite JSON) turned into the shape the dashboard draws: one trace, its spans by
// start time, each with its service, parent, kind, status and attributes. A plain script, no
// module: the page loads it before dashboard.js (window.ringtraceJaeger), and node's test runner
// loads the same file with require() (tests/gateway/jaeger_trace.test.mjs).
'use strict';
(function (root) {
  const MAX_TRACE_BYTES = 4 * 1024 * 1024;   // a message's trace is a few kB; the gateway cannot refuse more

  const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
  // An object member, or undefined (never throws, whatever v is).
  const member = (v, key) => (isObject(v) && Object.prototype.hasOwnProperty.call(v, key) ? v[key] : undefined);
  // A string member, or ''.
  const stringMember = (v, key) => { const m = member(v, key); return typeof m === 'string' ? m : ''; };
  const isNumber = (v) => typeof v === 'number' && Number.isFinite(v);

  // Whether text is a trace id as the gateway takes it: 32 lowercase hex digits.
  function isTraceId(text) {
    return typeof text === 'string' && /^[0-9a-f]{32}$/.test(text);
  }

  // One span in the page's shape, or a string saying what is wrong with it.
  function translateSpan(s, processes) {
    const spanId = stringMember(s, 'spanID');
    const start = member(s, 'startTime');
    const duration = member(s, 'duration');
    if (!spanId || !isNumber(start) || !isNumber(duration)) return 'a span without spanID, startTime or duration';
    let parent = null;
    const refs = member(s, 'references');
    if (Array.isArray(refs)) {
      const ref = refs.find((r) => stringMember(r, 'refType') === 'CHILD_OF' && stringMember(r, 'spanID'));
      if (ref) parent = stringMember(ref, 'spanID');
    }
    let service = null;
    const pid = stringMember(s, 'processID');
    if (pid) {
      const name = stringMember(member(processes, pid), 'serviceName');
      if (name) service = name;
    }
    let kind = null;
    let status = 'unset';
    // No prototype: a tag named like one of Object's own members is an attribute like any other.
    const attributes = Object.create(null);
    const tags = member(s, 'tags');
    for (const tag of Array.isArray(tags) ? tags : []) {
      const key = stringMember(tag, 'key');
      const value = member(tag, 'value');
      if (!key || value === undefined) continue;
      if (key === 'span.kind') {
        if (typeof value === 'string') kind = value;
      } else if (key === 'otel.status_code') {
        if (value === 'ERROR') status = 'error';
        else if (value === 'OK' && status !== 'error') status = 'ok';
      } else {
        if (key === 'error' && (value === true || value === 'true')) status = 'error';
        attributes[key] = value;
      }
    }
    return {
      span_id: spanId, parent_span_id: parent, service, name: stringMember(s, 'operationName'), kind,
      start_unix_us: start, duration_us: duration, status, attributes,
    };
  }

  // Jaeger's body (text) for traceId as { answer, trace, error }: answer 'trace' with
  // trace = { trace_id, jaeger_ui, spans } (jaeger_ui is uiUrl/trace/{id}, or null without a UI),
  // 'not-found' when Jaeger has no such trace, 'malformed' with error saying why otherwise.
  function translateJaegerTrace(text, traceId, uiUrl) {
    const malformed = (error) => ({ answer: 'malformed', trace: null, error });
    const notFound = { answer: 'not-found', trace: null, error: '' };
    if (typeof text === 'string' && text.length > MAX_TRACE_BYTES) {
      return malformed(`over ${MAX_TRACE_BYTES} bytes (${text.length})`);
    }
    let body;
    try {
      body = JSON.parse(text);
    } catch (e) {
      return malformed(`not JSON: ${e.message}`);
    }
    const data = member(body, 'data');
    if (!(Array.isArray(data) || data === null)) return malformed('no data array');
    if (data === null || data.length === 0) return notFound;
    const spans = member(data[0], 'spans');
    if (!Array.isArray(spans)) return malformed('data[0] has no spans array');
    if (spans.length === 0) return notFound;
    const processes = member(data[0], 'processes');
    const out = [];
    for (const s of spans) {
      const span = translateSpan(s, processes);
      if (typeof span === 'string') return malformed(span);
      out.push(span);
    }
    out.sort((a, b) => a.start_unix_us - b.start_unix_us);   // stable: equal starts keep Jaeger's order
    const ui = typeof uiUrl === 'string' ? uiUrl.replace(/\/+$/, '') : '';
    return {
      answer: 'trace',
      trace: { trace_id: traceId, jaeger_ui: ui ? `${ui}/trace/${traceId}` : null, spans: out },
      error: '',
    };
  }

  const api = { translateJaegerTrace, isTraceId, MAX_TRACE_BYTES };
  if (typeof module === 'object' && module.exports) module.exports = api;
  else root.ringtraceJaeger = api;
})(typeof globalThis === 'object' ? globalThis : this);
