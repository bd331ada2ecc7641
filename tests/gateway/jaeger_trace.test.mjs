// The page's reading of Jaeger's /api/traces/{id} answer (gateway/web/assets/jaeger_trace.js), on a
// fixture in the shape the native Jaeger answers with. Run by node's own test runner:
//   node --test tests/gateway/jaeger_trace.test.mjs
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';

const require = createRequire(import.meta.url);
const { translateJaegerTrace, isTraceId, MAX_TRACE_BYTES } = require('../../gateway/web/assets/jaeger_trace.js');

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

// A message's trace as Jaeger's query API returns it (abridged: MS1's producer root, MS2's server
// span under it, MS1's /store server span with an error, MS3's internal span), out of start order.
const JAEGER_TRACE = `{"data":[{"traceID":"4bf92f3577b34da6a3ce929d0e0e4736","spans":[
{"traceID":"4bf92f3577b34da6a3ce929d0e0e4736","spanID":"00f067aa0ba902b7","operationName":"receive",
 "references":[{"refType":"CHILD_OF","traceID":"4bf92f3577b34da6a3ce929d0e0e4736","spanID":"a3ce929d0e0e4736"}],
 "startTime":1796320800000300,"duration":120,"tags":[
  {"key":"span.kind","type":"string","value":"server"},{"key":"message.id","type":"int64","value":12},
  {"key":"otel.scope.name","type":"string","value":"ringtrace"}],"logs":[],"processID":"p2","warnings":null},
{"traceID":"4bf92f3577b34da6a3ce929d0e0e4736","spanID":"a3ce929d0e0e4736","operationName":"send",
 "references":[],"startTime":1796320800000100,"duration":5230,"tags":[
  {"key":"span.kind","type":"string","value":"producer"},{"key":"messaging.system","type":"string","value":"websocket"},
  {"key":"session_id","type":"int64","value":7},{"key":"otel.status_code","type":"string","value":"OK"}],
 "logs":[],"processID":"p1","warnings":null},
{"traceID":"4bf92f3577b34da6a3ce929d0e0e4736","spanID":"b7ad6b7169203331","operationName":"POST /store",
 "references":[{"refType":"FOLLOWS_FROM","traceID":"4bf92f3577b34da6a3ce929d0e0e4736","spanID":"1111111111111111"},
               {"refType":"CHILD_OF","traceID":"4bf92f3577b34da6a3ce929d0e0e4736","spanID":"00f067aa0ba902b7"}],
 "startTime":1796320800005000,"duration":210,"tags":[
  {"key":"span.kind","type":"string","value":"server"},{"key":"http.response.status_code","type":"int64","value":503},
  {"key":"error","type":"bool","value":true},{"key":"otel.status_code","type":"string","value":"ERROR"},
  {"key":"otel.status_description","type":"string","value":"database down"},
  {"key":"ratio","type":"float64","value":0.5}],"logs":[],"processID":"p1","warnings":null},
{"traceID":"4bf92f3577b34da6a3ce929d0e0e4736","spanID":"c000000000000001","operationName":"decode",
 "references":[{"refType":"CHILD_OF","traceID":"4bf92f3577b34da6a3ce929d0e0e4736","spanID":"00f067aa0ba902b7"}],
 "startTime":1796320800000350,"duration":3,"tags":[],"logs":[],"processID":"p3","warnings":null}],
"processes":{"p1":{"serviceName":"ms1","tags":[{"key":"telemetry.sdk.language","type":"string","value":"cpp"}]},
             "p2":{"serviceName":"ms2","tags":[]},"p3":{"serviceName":"ms3","tags":[]}},"warnings":null}],
"total":0,"limit":0,"offset":0,"errors":null}`;

// Jaeger's answer for a trace it does not have.
const JAEGER_NOT_FOUND = '{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":404,"msg":"trace not found"}]}';

test('translates spans by start time', () => {
  const t = translateJaegerTrace(JAEGER_TRACE, TRACE_ID, 'http://127.0.0.1:16686/');
  assert.equal(t.answer, 'trace', t.error);
  const body = t.trace;
  assert.equal(body.trace_id, TRACE_ID);
  assert.equal(body.jaeger_ui, 'http://127.0.0.1:16686/trace/4bf92f3577b34da6a3ce929d0e0e4736');
  const spans = body.spans;
  assert.equal(spans.length, 4);
  const root = spans[0];
  assert.equal(root.span_id, 'a3ce929d0e0e4736');
  assert.equal(root.parent_span_id, null);
  assert.equal(root.service, 'ms1');
  assert.equal(root.name, 'send');
  assert.equal(root.kind, 'producer');
  assert.equal(root.start_unix_us, 1796320800000100);
  assert.equal(root.duration_us, 5230);
  assert.equal(root.status, 'ok');
  assert.equal(root.attributes.session_id, 7);
  assert.equal(root.attributes['messaging.system'], 'websocket');
  assert.ok(!('span.kind' in root.attributes), 'kind and status have fields of their own');
  assert.ok(!('otel.status_code' in root.attributes));
  const ms2 = spans[1];
  assert.equal(ms2.service, 'ms2');
  assert.equal(ms2.parent_span_id, 'a3ce929d0e0e4736');
  assert.equal(ms2.status, 'unset');
  const internal = spans[2];
  assert.equal(internal.service, 'ms3');
  assert.equal(internal.kind, null, 'Jaeger tags no kind on an internal span');
  const store = spans[3];
  assert.equal(store.parent_span_id, '00f067aa0ba902b7', 'CHILD_OF, not FOLLOWS_FROM');
  assert.equal(store.status, 'error');
  assert.equal(store.attributes['otel.status_description'], 'database down');
  assert.equal(store.attributes.ratio, 0.5);
  assert.equal(store.attributes.error, true);
});

test('without a UI URL there is no link', () => {
  const t = translateJaegerTrace(JAEGER_TRACE, TRACE_ID, '');
  assert.equal(t.answer, 'trace');
  assert.equal(t.trace.jaeger_ui, null);
  assert.equal(translateJaegerTrace(JAEGER_TRACE, TRACE_ID, null).trace.jaeger_ui, null);
});

test('not found and malformed', () => {
  assert.equal(translateJaegerTrace(JAEGER_NOT_FOUND, TRACE_ID, '').answer, 'not-found');
  assert.equal(translateJaegerTrace('{"data":[]}', TRACE_ID, '').answer, 'not-found');
  for (const bad of ['', '<html>', '[]', '{"data":5}', '{"data":[{"spans":{}}]}',
    '{"data":[{"spans":[{"spanID":"a"}]}]}', '{"data":[{"spans":[7]}]}']) {
    const t = translateJaegerTrace(bad, TRACE_ID, '');
    assert.equal(t.answer, 'malformed', bad);
    assert.notEqual(t.error, '', bad);
  }
});

test('an answer over the size limit is refused', () => {
  const t = translateJaegerTrace(' '.repeat(MAX_TRACE_BYTES + 1), TRACE_ID, '');
  assert.equal(t.answer, 'malformed');
  assert.match(t.error, /over \d+ bytes/);
});

test('a tag named like an Object member is an attribute like any other', () => {
  const text = JAEGER_TRACE.replace('"key":"message.id"', '"key":"__proto__"');
  const t = translateJaegerTrace(text, TRACE_ID, '');
  assert.equal(t.answer, 'trace', t.error);
  const ms2 = t.trace.spans.find((s) => s.service === 'ms2');
  assert.deepEqual(Object.entries(ms2.attributes), [['__proto__', 12], ['otel.scope.name', 'ringtrace']]);
});

test('trace ids', () => {
  assert.ok(isTraceId(TRACE_ID));
  assert.ok(!isTraceId('4BF92F3577B34DA6A3CE929D0E0E4736'));
  assert.ok(!isTraceId('4bf92f3577b34da6a3ce929d0e0e473'));
  assert.ok(!isTraceId('4bf92f3577b34da6a3ce929d0e0e4736a'));
  assert.ok(!isTraceId('4bf92f3577b34da6a3ce929d0e0e473g'));
});
