'use strict';
// The fleet page: polls the router's own endpoints every two seconds and draws with inline SVG, no libraries.
//   /v1/fleet/dashboard  model name and Zipkin URL (once, then every 30 s)
//   /v1/fleet/state      services, experts held, cumulative expert load, attention instances and their KV use
//   /health              the router's own health
//   /metrics             Prometheus text: TTFT and step-time histograms, generated-token counter, queue gauges
// Rates and quantiles are computed here, between two successive scrapes.

const POLL_MS = 2000;
const HISTORY_MS = 5 * 60 * 1000;
const SVG_NS = 'http://www.w3.org/2000/svg';
const METRIC = {
  ttft: 'moefleet_time_to_first_token_seconds',
  tpot: 'moefleet_time_per_output_token_seconds',   // when the router exports it; else the step time stands in
  step: 'moefleet_scheduler_step_seconds',
  tokens: 'moefleet_generation_tokens_total',
  running: 'moefleet_scheduler_running',
  waiting: 'moefleet_scheduler_waiting',
};

const view = {
  settings: null,     // /v1/fleet/dashboard
  state: null,        // last /v1/fleet/state
  stateError: null,
  health: null,       // {ok, status}
  scrape: null,       // {t, samples} of the last /metrics
  history: [],        // [{t, ttft50, ttft90, tpot50, tpot90, tps}]
  load: null,         // {t, layers: {layer: [cumulative tokens]}} of the last state
  interval: null,     // {seconds, layers: {layer: [tokens in the interval]}}
  polls: 0,
};

// ---- fetching ----------------------------------------------------------------------------------------------------

// An unsampled W3C trace context: the router's sampler is parent-based, so watching the fleet records no traces.
function quietHeaders() {
  const hex = n => Array.from(crypto.getRandomValues(new Uint8Array(n)), b => b.toString(16).padStart(2, '0')).join('');
  return { traceparent: `00-${hex(16)}-${hex(8)}-00` };
}

async function fetchText(path) {
  const response = await fetch(path, { headers: quietHeaders(), cache: 'no-store' });
  return { ok: response.ok, status: response.status, text: await response.text() };
}

async function pollSettings() {
  try {
    const answer = await fetchText('/v1/fleet/dashboard');
    if (answer.ok) view.settings = JSON.parse(answer.text);
  } catch (e) { /* the state poll reports an unreachable router */ }
}

async function pollState() {
  try {
    const answer = await fetchText('/v1/fleet/state');
    if (!answer.ok) throw new Error(errorMessage(answer));
    const state = JSON.parse(answer.text);
    view.state = state;
    view.stateError = null;
    if (state.expert_load) recordLoad(state.expert_load);
  } catch (e) {
    view.stateError = String(e.message || e);
  }
}

async function pollHealth() {
  try {
    const answer = await fetchText('/health');
    let status = answer.ok ? 'serving' : 'HTTP ' + answer.status;
    try { status = JSON.parse(answer.text).status || status; } catch (e) { /* not JSON */ }
    view.health = { ok: answer.ok, status };
  } catch (e) {
    view.health = { ok: false, status: 'unreachable' };
  }
}

async function pollMetrics() {
  try {
    const answer = await fetchText('/metrics');
    if (answer.ok) recordScrape(parseMetrics(answer.text));
  } catch (e) { /* shown by the health poll */ }
}

function errorMessage(answer) {
  try { return JSON.parse(answer.text).error.message; } catch (e) { return 'HTTP ' + answer.status; }
}

// ---- metrics -----------------------------------------------------------------------------------------------------

/** Prometheus text to a Map from `name{labels}` to its value. */
function parseMetrics(text) {
  const samples = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)/.exec(line);
    if (m) samples.set(m[1] + (m[2] || ''), Number(m[3].replace('Inf', 'Infinity')));
  }
  return samples;
}

/** The sum of a metric's samples over all label sets. */
function total(samples, name) {
  let sum = 0, found = false;
  for (const [key, value] of samples) {
    if (key === name || key.startsWith(name + '{')) { sum += value; found = true; }
  }
  return found ? sum : null;
}

/** A histogram's cumulative bucket counts, summed over label sets: Map from upper bound to count. */
function buckets(samples, name) {
  const counts = new Map();
  for (const [key, value] of samples) {
    if (!key.startsWith(name + '_bucket{')) continue;
    const le = /le="([^"]+)"/.exec(key);
    if (!le) continue;
    const bound = le[1] === '+Inf' ? Infinity : Number(le[1]);
    counts.set(bound, (counts.get(bound) || 0) + value);
  }
  return counts;
}

/** The q-quantile of the observations made between two scrapes (as PromQL's histogram_quantile over an increase). */
function quantile(q, now, before) {
  const bounds = [...now.keys()].sort((a, b) => a - b);
  const increase = bounds.map(b => now.get(b) - (before.get(b) || 0));
  const count = increase.length ? increase[increase.length - 1] : 0;
  if (!(count > 0)) return null;
  const rank = q * count;
  let lower = 0, below = 0;
  for (let i = 0; i < bounds.length; i++) {
    if (increase[i] >= rank) {
      if (bounds[i] === Infinity) return lower;
      return lower + (bounds[i] - lower) * (rank - below) / Math.max(increase[i] - below, 1e-12);
    }
    lower = bounds[i];
    below = increase[i];
  }
  return lower;
}

function recordScrape(samples) {
  const t = Date.now();
  const previous = view.scrape;
  view.scrape = { t, samples };
  if (!previous) return;
  const seconds = (t - previous.t) / 1000;
  const tokensNow = total(samples, METRIC.tokens), tokensBefore = total(previous.samples, METRIC.tokens);
  if (tokensNow === null || tokensBefore === null || tokensNow < tokensBefore) return;   // a restarted router
  const ttft = buckets(samples, METRIC.ttft), ttftBefore = buckets(previous.samples, METRIC.ttft);
  const tpotName = buckets(samples, METRIC.tpot).size > 0 ? METRIC.tpot : METRIC.step;
  view.tpotSource = tpotName === METRIC.tpot ? 'per output token' : 'scheduler step';
  const step = buckets(samples, tpotName), stepBefore = buckets(previous.samples, tpotName);
  view.history.push({
    t,
    ttft50: quantile(0.5, ttft, ttftBefore), ttft90: quantile(0.9, ttft, ttftBefore),
    tpot50: quantile(0.5, step, stepBefore), tpot90: quantile(0.9, step, stepBefore),
    tps: (tokensNow - tokensBefore) / seconds,
  });
  while (view.history.length && view.history[0].t < t - HISTORY_MS) view.history.shift();
}

function recordLoad(layers) {
  const t = Date.now();
  const previous = view.load;
  view.load = { t, layers };
  if (!previous) return;
  const interval = { seconds: (t - previous.t) / 1000, layers: {} };
  for (const [layer, counts] of Object.entries(layers)) {
    const before = previous.layers[layer] || [];
    // a count below the last one means the router restarted: its counts are then all new
    interval.layers[layer] = counts.map((c, e) => (c >= (before[e] || 0) ? c - (before[e] || 0) : c));
  }
  view.interval = interval;
}

// ---- DOM helpers -------------------------------------------------------------------------------------------------

const $ = id => document.getElementById(id);

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attributes)) {
    if (k === 'class') node.className = v; else if (k.startsWith('data-')) node.setAttribute(k, v); else node[k] = v;
  }
  for (const child of children) node.append(child);
  return node;
}

function svgEl(tag, attributes = {}) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, v);
  return node;
}

function badge(kind, text) {
  return el('span', { class: 'badge ' + kind }, text);
}

const number = n => Math.round(n).toLocaleString('en-US');

function seconds(v) {
  if (v === null || v === undefined || !isFinite(v)) return '–';
  return v >= 1 ? v.toFixed(2) + ' s' : (v * 1000).toPrecision(3) + ' ms';
}

/** Sorted expert ids as ranges: [0,1,2,3,7] -> "0-3, 7". */
function ranges(ids) {
  const sorted = [...ids].sort((a, b) => a - b), parts = [];
  for (let i = 0; i < sorted.length; i++) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? String(sorted[i]) : sorted[i] + '-' + sorted[j]);
    i = j;
  }
  return parts.join(', ') || 'none';
}

/** What a shard holds, layers with the same experts grouped: "layers 1-3: 0-7, 12". */
function heldText(holds) {
  const byExperts = new Map();
  for (const [layer, experts] of Object.entries(holds || {})) {
    const key = ranges(experts);
    if (!byExperts.has(key)) byExperts.set(key, []);
    byExperts.get(key).push(Number(layer));
  }
  if (byExperts.size === 0) return 'no experts';
  return [...byExperts].map(([experts, layers]) =>
    (byExperts.size === 1 ? 'experts ' : 'layer' + (layers.length > 1 ? 's ' : ' ') + ranges(layers) + ': ') + experts).join('; ');
}

// ---- services and KV ---------------------------------------------------------------------------------------------

function renderServices() {
  const body = $('services').tBodies[0];
  const rows = [];
  const state = view.state, health = view.health || { ok: false, status: 'unknown' };
  const samples = view.scrape ? view.scrape.samples : new Map();
  const running = total(samples, METRIC.running), waiting = total(samples, METRIC.waiting);
  rows.push(el('tr', { 'data-service': 'router', 'data-address': location.host },
    el('td', {}, 'router'), el('td', { class: 'mono' }, location.host),
    el('td', {}, badge(health.ok ? 'ok' : 'bad', health.status)),
    el('td', {}, running === null ? '' : `${number(running)} running · ${number(waiting || 0)} waiting`),
    el('td', {}, view.settings ? 'model ' + view.settings.model : '')));
  let note = '';
  if (!state) {
    note = view.stateError ? 'fleet state unavailable: ' + view.stateError : '';
  } else if (state.mode === 'single-process') {
    note = 'single-process mode: the engine runs inside the router, with no expert shards or attention instances.';
  } else {
    for (const shard of state.experts || []) {
      const serving = shard.serving === true ? badge('ok', 'serving')
        : shard.serving === false ? badge('bad', 'not serving') : badge('unknown', 'unknown');
      rows.push(el('tr', { 'data-service': 'shard', 'data-address': shard.address, 'data-serving': String(shard.serving) },
        el('td', {}, 'expert shard ' + shard.shard), el('td', { class: 'mono' }, shard.address), el('td', {}, serving),
        el('td', {}, shard.calls === undefined ? '' : number(shard.calls) + ' calls'),
        el('td', { class: 'mono', title: shard.holds_from === 'placement' ? 'from the placement: the shard did not answer' : '' },
          heldText(shard.holds))));
    }
    for (const instance of state.attention || []) {
      const stats = instance.kv_capacity_positions !== undefined;
      rows.push(el('tr', { 'data-service': 'attention', 'data-address': instance.address },
        el('td', {}, 'attention instance'), el('td', { class: 'mono' }, instance.address),
        el('td', {}, stats ? badge('ok', 'serving') : badge(state.attention_error ? 'bad' : 'unknown', 'no stats')),
        el('td', {}, `${number(instance.sequences)} sequences · ` + (instance.accepting ? 'takes new ones' : 'takes no new ones')),
        el('td', {}, stats ? kvBar(instance) : '')));
    }
    note = [state.experts_error, state.attention_error].filter(Boolean).join(' · ');
  }
  body.replaceChildren(...rows);
  $('services-note').textContent = note;
}

function kvBar(instance) {
  const capacity = instance.kv_capacity_positions, used = instance.cached_positions;
  const share = capacity > 0 ? Math.min(1, used / capacity) : 0;
  const bar = el('div', { class: 'bar' + (share > 0.85 ? ' high' : ''), title: `${number(used)} of ${number(capacity)} positions` },
    el('span'), el('em', {}, percent(share)));
  bar.firstChild.style.width = (share * 100).toFixed(1) + '%';
  return bar;
}

const percent = share => (share > 0 && share < 0.01 ? (share * 100).toPrecision(2) : (share * 100).toFixed(1)) + '%';

function renderKv() {
  const box = $('kv');
  const instances = view.state && view.state.attention;
  if (!instances || instances.length === 0) {
    box.replaceChildren(el('p', { class: 'muted' },
      view.state && view.state.mode === 'single-process' ? 'single-process mode: the KV cache lives in the router' : 'no attention instances'));
    return;
  }
  const rows = instances.map(instance => {
    const known = instance.kv_capacity_positions !== undefined;
    return el('div', { class: 'kv-row', 'data-address': instance.address },
      el('span', { class: 'mono' }, instance.address),
      el('span', { class: 'muted' }, known ? `${number(instance.cached_positions)} / ${number(instance.kv_capacity_positions)} positions · `
        + `${number(instance.sequences)} sequences` : 'no stats'),
      known ? kvBar(instance) : el('span'));
  });
  // prompt pages found at admission, when the router exports the count: on the instance (hot), in the KV pool, or not
  const pages = byLabel(view.scrape ? view.scrape.samples : new Map(), 'moefleet_prefix_cache_pages_total', 'source');
  if (pages.size > 0) {
    const hot = pages.get('hot') || 0, pool = pages.get('pool') || 0, miss = pages.get('miss') || 0;
    const all = hot + pool + miss;
    rows.push(el('p', { class: 'muted' }, `prompt pages since start: ${number(hot)} hot · ${number(pool)} from the KV pool · ${number(miss)} computed`
      + (all > 0 ? ` (${((hot + pool) / all * 100).toFixed(1)}% cached)` : '')));
  }
  box.replaceChildren(...rows);
}

/** A metric's values by one label's value (summed over the other labels). */
function byLabel(samples, name, label) {
  const values = new Map();
  const pattern = new RegExp(`${label}="([^"]*)"`);
  for (const [key, value] of samples) {
    if (!key.startsWith(name + '{')) continue;
    const m = pattern.exec(key);
    if (m) values.set(m[1], (values.get(m[1]) || 0) + value);
  }
  return values;
}

// ---- line charts -------------------------------------------------------------------------------------------------

/**
 * A line chart of the history (the last five minutes at most, one minute at least); each series {label, colour, key}
 * reads view.history, with gaps where a value is null.
 */
function lineChart(container, series, format) {
  const width = Math.max(container.clientWidth, 200), height = 170;
  const pad = { left: 58, right: 10, top: 10, bottom: 34 };
  const now = Date.now();
  const first = view.history.length ? view.history[0].t : now;
  const span = Math.min(HISTORY_MS, Math.max(60000, now - first + POLL_MS));
  const from = now - span;
  let max = 0;
  for (const point of view.history) for (const s of series) if (point[s.key] !== null && isFinite(point[s.key])) max = Math.max(max, point[s.key]);
  const top = max > 0 ? max * 1.15 : 1;
  const x = t => pad.left + (width - pad.left - pad.right) * (t - from) / span;
  const y = v => height - pad.bottom - (height - pad.top - pad.bottom) * v / top;
  const chart = svgEl('svg', { viewBox: `0 0 ${width} ${height}`, width, height });
  for (const f of [0, 0.5, 1]) {
    const v = top * f;
    chart.append(svgEl('line', { class: f === 0 ? 'axis' : 'grid', x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v) }));
    const label = svgEl('text', { x: pad.left - 6, y: y(v) + 3, 'text-anchor': 'end' });
    label.textContent = v === 0 ? '0' : format(v);
    chart.append(label);
  }
  const step = [10000, 30000, 60000].find(s => span / s <= 6);
  for (let ago = 0; ago <= span; ago += step) {
    const label = svgEl('text', { x: x(now - ago), y: height - pad.bottom + 14, 'text-anchor': ago === 0 ? 'end' : 'middle' });
    label.textContent = ago === 0 ? 'now' : ago % 60000 === 0 ? `-${ago / 60000}m` : `-${ago / 1000}s`;
    chart.append(label);
  }
  let drawn = false;
  for (const s of series) {
    let d = '', pen = 'M';
    for (const point of view.history) {
      const v = point[s.key];
      if (v === null || !isFinite(v)) { pen = 'M'; continue; }
      d += `${pen}${x(point.t).toFixed(1)},${y(v).toFixed(1)} `;
      pen = 'L';
      drawn = true;
    }
    if (d) chart.append(svgEl('path', { d, fill: 'none', stroke: s.colour, 'stroke-width': 2, 'stroke-linejoin': 'round' }));
    for (const point of view.history) {
      if (point[s.key] !== null && isFinite(point[s.key])) {
        chart.append(svgEl('circle', { cx: x(point.t).toFixed(1), cy: y(point[s.key]).toFixed(1), r: 2.2, fill: s.colour }));
      }
    }
  }
  if (!drawn) {
    const empty = svgEl('text', { class: 'empty', x: (pad.left + width) / 2, y: height / 2, 'text-anchor': 'middle' });
    empty.textContent = view.history.length ? 'no requests in the last five minutes' : 'waiting for a second scrape…';
    chart.append(empty);
  }
  let legendX = pad.left;
  for (const s of series) {
    const last = [...view.history].reverse().find(p => p[s.key] !== null && isFinite(p[s.key]));
    chart.append(svgEl('rect', { x: legendX, y: height - 12, width: 14, height: 4, fill: s.colour, rx: 2 }));
    const label = svgEl('text', { x: legendX + 18, y: height - 7 });
    label.textContent = `${s.label} ${last ? format(last[s.key]) : '–'}`;
    chart.append(label);
    legendX += 150;
  }
  container.replaceChildren(chart);
}

function renderCharts() {
  lineChart($('chart-ttft'), [{ label: 'p50', colour: 'var(--p50)', key: 'ttft50' }, { label: 'p90', colour: 'var(--p90)', key: 'ttft90' }], seconds);
  $('tpot-source').textContent = `${view.tpotSource || 'scheduler step'}, p50 / p90`;
  lineChart($('chart-tpot'), [{ label: 'p50', colour: 'var(--p50)', key: 'tpot50' }, { label: 'p90', colour: 'var(--p90)', key: 'tpot90' }], seconds);
  lineChart($('chart-tps'), [{ label: 'tokens/s', colour: 'var(--tps)', key: 'tps' }], v => (v >= 100 ? v.toFixed(0) : v.toFixed(1)));
}

// ---- expert-load heatmap -----------------------------------------------------------------------------------------

const heat = { svg: null, shape: '', cells: new Map() };   // cells: "layer/expert" -> rect
const HEAT_STOPS = [[0xe0, 0xf3, 0xf8], [0x7f, 0xcd, 0xbb], [0x2c, 0x7f, 0xb8], [0x25, 0x34, 0x94], [0x08, 0x1d, 0x58]];

function heatColour(share) {
  if (!(share > 0)) return '#f1f3f5';
  const t = Math.sqrt(Math.min(1, share)) * (HEAT_STOPS.length - 1);
  const i = Math.min(Math.floor(t), HEAT_STOPS.length - 2), f = t - i;
  const c = HEAT_STOPS[i].map((a, k) => Math.round(a + (HEAT_STOPS[i + 1][k] - a) * f));
  return `rgb(${c.join(',')})`;
}

function buildHeatmap(layers, experts, width) {
  const label = 38, top = 16;
  const cell = Math.max(2, Math.min(40, Math.floor((width - label - 4) / experts)));
  const rowHeight = Math.max(8, Math.min(24, cell));
  const chart = svgEl('svg', { width: label + cell * experts + 2, height: top + rowHeight * layers.length + 2 });
  heat.cells.clear();
  const every = Math.max(1, Math.ceil(28 / cell));
  for (let e = 0; e < experts; e += every) {
    const text = svgEl('text', { x: label + e * cell + cell / 2, y: top - 4, 'text-anchor': 'middle' });
    text.textContent = e;
    chart.append(text);
  }
  layers.forEach((layer, row) => {
    const text = svgEl('text', { x: label - 6, y: top + row * rowHeight + rowHeight / 2 + 3, 'text-anchor': 'end' });
    text.textContent = 'L' + layer;
    chart.append(text);
    for (let e = 0; e < experts; e++) {
      const rect = svgEl('rect', { class: 'cell', x: label + e * cell, y: top + row * rowHeight, width: Math.max(1, cell - (cell > 4 ? 1 : 0)),
        height: rowHeight - 1, 'data-layer': layer, 'data-expert': e, 'data-tokens': 0, 'data-total': 0 });
      heat.cells.set(layer + '/' + e, rect);
      chart.append(rect);
    }
  });
  chart.addEventListener('mousemove', showCell);
  chart.addEventListener('mouseleave', () => { $('tooltip').hidden = true; });
  heat.svg = chart;
  $('heatmap').replaceChildren(chart);
}

function renderHeatmap() {
  const box = $('heatmap');
  const load = view.load && view.load.layers;
  if (!load || Object.keys(load).length === 0) {
    heat.shape = '';
    box.replaceChildren(el('p', { class: 'muted' }, view.state && view.state.mode === 'single-process'
      ? 'single-process mode: the router counts no expert load' : 'no expert load reported yet'));
    $('heatmap-legend').replaceChildren();
    return;
  }
  const layers = Object.keys(load).map(Number).sort((a, b) => a - b);
  const experts = Math.max(...layers.map(l => load[l].length));
  const width = box.clientWidth;
  const shape = `${layers.join(',')}x${experts}@${width}`;
  if (shape !== heat.shape) {
    buildHeatmap(layers, experts, width);
    heat.shape = shape;
  }
  const cumulative = $('cumulative').checked;
  const shown = cumulative ? load : view.interval ? view.interval.layers : null;
  let max = 0, sum = 0;
  for (const layer of layers) for (const v of (shown && shown[layer]) || []) { max = Math.max(max, v); sum += v; }
  for (const layer of layers) {
    for (let e = 0; e < experts; e++) {
      const rect = heat.cells.get(layer + '/' + e);
      const tokens = view.interval && view.interval.layers[layer] ? view.interval.layers[layer][e] || 0 : 0;
      const value = shown && shown[layer] ? shown[layer][e] || 0 : 0;
      update(rect, 'data-tokens', tokens);
      update(rect, 'data-total', load[layer][e] || 0);
      update(rect, 'fill', heatColour(max > 0 ? value / max : 0));
    }
  }
  box.setAttribute('data-interval-tokens', sum);
  $('heatmap-caption').textContent = cumulative ? 'tokens routed per expert since the router started'
    : view.interval ? `tokens routed per expert in the last ${view.interval.seconds.toFixed(1)} s` : 'tokens per expert: waiting for a second sample…';
  const scale = el('div', { class: 'scale' });
  scale.style.background = `linear-gradient(90deg, ${[0.001, 0.1, 0.3, 0.6, 1].map(heatColour).join(', ')})`;
  $('heatmap-legend').replaceChildren(el('span', {}, '0'), scale, el('span', {}, number(max) + ' tokens'),
    el('span', {}, `· ${number(sum)} in all (${layers.length} MoE layers × ${experts} experts)`));
}

/** Sets an attribute only when it changes: a large model's heatmap has tens of thousands of cells. */
function update(node, attribute, value) {
  const text = String(value);
  if (node.getAttribute(attribute) !== text) node.setAttribute(attribute, text);
}

function showCell(event) {
  const rect = event.target.closest('rect.cell');
  const tip = $('tooltip');
  if (!rect) { tip.hidden = true; return; }
  const layer = rect.dataset.layer, expert = Number(rect.dataset.expert);
  const layerInterval = view.interval && view.interval.layers[layer] ? view.interval.layers[layer].reduce((a, b) => a + b, 0) : 0;
  const holders = ((view.state && view.state.experts) || [])
    .filter(s => (s.holds && s.holds[layer] || []).includes(expert)).map(s => s.shard);
  const interval = view.interval ? view.interval.seconds.toFixed(1) + ' s' : 'interval';
  tip.textContent = `layer ${layer} · expert ${expert}\n`
    + `last ${interval}: ${number(Number(rect.dataset.tokens))} tokens (layer: ${number(layerInterval)})\n`
    + `since start: ${number(Number(rect.dataset.total))} tokens\n`
    + `held by shard ${holders.length ? holders.join(', ') : '?'}`;
  tip.hidden = false;
  tip.style.left = Math.min(event.clientX + 14, window.innerWidth - tip.offsetWidth - 8) + 'px';
  tip.style.top = (event.clientY + 14) + 'px';
}

// ---- traces ------------------------------------------------------------------------------------------------------

let lastTraceFetch = 0;

async function renderTraces() {
  const zipkin = view.settings && view.settings.zipkin;
  const link = $('traces-link');
  if (!zipkin) {
    link.replaceChildren();
    return;
  }
  const search = `${zipkin}/zipkin/?serviceName=moefleet-router`;
  link.replaceChildren(el('a', { href: search, target: '_blank', rel: 'noopener' }, 'traces in Zipkin ↗'));
  if (Date.now() - lastTraceFetch < 10000) return;
  lastTraceFetch = Date.now();
  const items = [];
  try {
    // cross-origin: works when Zipkin allows this page's origin; otherwise only the link is shown
    const response = await fetch(`${zipkin}/api/v2/traces?serviceName=moefleet-router&limit=5`, { cache: 'no-store' });
    if (response.ok) {
      for (const trace of await response.json()) {
        const root = trace.find(span => !span.parentId) || trace[0];
        if (!root) continue;
        const when = root.timestamp ? new Date(root.timestamp / 1000).toLocaleTimeString() : '';
        items.push(el('li', {}, el('a', { href: `${zipkin}/zipkin/traces/${root.traceId}`, target: '_blank', rel: 'noopener', class: 'mono' },
          root.traceId.slice(0, 16)), ` ${root.name || ''} · ${root.duration ? seconds(root.duration / 1e6) : ''} · ${trace.length} span${trace.length === 1 ? '' : 's'} · ${when}`));
      }
    }
  } catch (e) { /* Zipkin not reachable from the browser */ }
  $('traces').replaceChildren(...(items.length ? [el('ul', {}, ...items)] : []),
    el('p', {}, el('a', { href: search, target: '_blank', rel: 'noopener' }, 'search the router\'s traces in Zipkin'), ' ', el('span', { class: 'muted mono' }, zipkin)));
}

// ---- the loop ----------------------------------------------------------------------------------------------------

function renderHeader() {
  $('model').textContent = view.settings ? view.settings.model : '…';
  $('mode').textContent = view.state ? (view.state.mode === 'single-process' ? 'single process' : 'fleet') : '…';
  const samples = view.scrape ? view.scrape.samples : new Map();
  const generated = total(samples, METRIC.tokens);
  const last = view.history[view.history.length - 1];
  $('load').textContent = generated === null ? '' : `${number(generated)} tokens generated` + (last ? ` · ${last.tps.toFixed(1)} tokens/s` : '');
  $('updated').textContent = view.health && view.health.status === 'unreachable'
    ? 'router unreachable' : 'updated ' + new Date().toLocaleTimeString();
}

function render() {
  renderHeader();
  renderServices();
  renderKv();
  renderCharts();
  renderHeatmap();
  renderTraces();
}

async function tick() {
  const started = Date.now();
  if (view.polls % 15 === 0) await pollSettings();
  await Promise.allSettled([pollState(), pollHealth(), pollMetrics()]);
  try {
    render();
  } finally {
    view.polls++;
    document.body.dataset.polls = view.polls;
    setTimeout(tick, Math.max(250, POLL_MS - (Date.now() - started)));
  }
}

$('cumulative').addEventListener('change', renderHeatmap);
window.addEventListener('resize', () => { heat.shape = ''; render(); });
tick();
