'use strict';
// Turns the raw results of tests/bench/run.sh into docs/BENCHMARKS.md and
// the plots under docs/bench/. Only numbers read from the result files go
// into the report.
//
// Usage: node report.js RESULTS_DIR OUT_MD PLOT_DIR

const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const [resultsDir, outFile, plotDir] = process.argv.slice(2);
if (!resultsDir || !outFile || !plotDir) {
  console.error('usage: node report.js RESULTS_DIR OUT_MD PLOT_DIR');
  process.exit(2);
}

// Everything below this line in an existing report is kept as it is, so
// analysis written by hand survives a rerun.
const KEEP_MARKER = '<!-- Hand-written analysis below; run.sh keeps it. -->';

const SERVERS = ['cursord', 'go', 'node'];
const PEERS = ['go', 'node'];
const SERVER_NAMES = {
  cursord: 'cursord',
  go: 'Go + gorilla/websocket',
  node: 'Node.js + ws',
};

const meta = JSON.parse(fs.readFileSync(path.join(resultsDir, 'meta.json'), 'utf8'));

function load(file) {
  const text = fs.readFileSync(path.join(resultsDir, file), 'utf8').trim();
  const lines = text.split('\n');
  let result;
  try {
    result = JSON.parse(lines[lines.length - 1]);
  } catch (e) {
    result = { error: 'no JSON result' };
  }
  return result;
}

// The figure each mode's runs are ranked by; the report shows the median
// run, and this figure of every run so the spread is visible.
const KEY = {
  rate: { value: (r) => r.latency && r.latency.p99_ms, show: (v) => ms(v), name: 'p99 ms' },
  saturate: { value: (r) => r.delivered_per_s, show: (v) => rate(v), name: 'delivered/s' },
  idle: { value: (r) => r.server_rss_per_connection_bytes, show: (v) => fmt(v), name: 'B/conn' },
  churn: { value: (r) => r.joins_per_s, show: (v) => rate(v), name: 'joins/s' },
};

const runs = {};
for (const file of fs.readdirSync(resultsDir)) {
  const m = /^([a-z0-9]+)\.([a-z]+)(?:\.(\d+))?\.json$/.exec(file);
  if (!m) continue;
  const key = `${m[1]}.${m[2]}`;
  (runs[key] = runs[key] || []).push(load(file));
}
const results = {};
for (const [key, list] of Object.entries(runs)) {
  const [scenario, server] = key.split('.');
  const mode = (list.find((r) => r.mode) || {}).mode;
  const k = KEY[mode];
  const good = k ? list.filter((r) => !r.error && k.value(r) !== undefined && k.value(r) !== null) : [];
  good.sort((a, b) => k.value(a) - k.value(b));
  const median = good.length ? good[Math.floor((good.length - 1) / 2)] : list[0];
  median.spread = good.map((r) => k.value(r));
  median.failed_runs = list.length - good.length;
  const others = list.map((r) => r.cpu && r.cpu.other_cores).filter((v) => v !== undefined);
  median.others_max = others.length ? Math.max(...others) : undefined;
  results[scenario] = results[scenario] || {};
  results[scenario][server] = median;
}
const get = (scenario, server) => (results[scenario] || {})[server] || null;
// "a / b / c" of the key figure over all runs, lowest first.
const spread = (r) => {
  if (!r || !r.spread || !KEY[r.mode]) return '–';
  const text = r.spread.map(KEY[r.mode].show).join(' / ');
  return r.failed_runs ? `${text} (+${r.failed_runs} failed)` : text;
};

// Formatting.
const fmt = (v, digits = 0) =>
  v === undefined || v === null || Number.isNaN(v)
    ? '–'
    : Number(v).toLocaleString('en-US', {
        minimumFractionDigits: digits,
        maximumFractionDigits: digits,
      });
const ms = (v) => (v === undefined || v === null ? '–' : v < 1 ? fmt(v, 3) : v < 10 ? fmt(v, 2) : fmt(v, 1));
const rate = (v) => {
  if (v === undefined || v === null) return '–';
  if (v >= 1e6) return `${fmt(v / 1e6, 2)} M`;
  if (v >= 1e3) return `${fmt(v / 1e3, 1)} k`;
  return fmt(v, 0);
};
const pct = (v) => (v === undefined || v === null ? '–' : `${fmt(100 * v, 1)}%`);
const cores = (v) => (v === undefined || v === null || v < 0 ? '–' : fmt(v, 2));
const bytes = (v) => (v === undefined || v === null ? '–' : `${fmt(v, 0)} B`);
const mib = (v) => (v === undefined || v === null ? '–' : `${fmt(v / 1048576, 1)} MiB`);
const ratio = (a, b) => (a && b ? `${fmt(a / b, a / b >= 10 ? 0 : 1)}×` : '–');
// cursord against a peer where lower is better (latency, memory).
const lowerBetter = (c, peer) => {
  if (!c || !peer) return '–';
  return c <= peer ? `${ratio(peer, c)} better` : `${ratio(c, peer)} worse`;
};
const flag = (r) => {
  if (!r) return 'no result';
  if (r.error) return `error: ${r.error}`;
  const notes = [];
  // Other work on the machine (it is shared), measured by cursor-bench as
  // busy CPU time of everything but the server and itself.
  if (r.others_max !== undefined && r.others_max >= 0.3) {
    notes.push(`other work on the machine: up to ${fmt(r.others_max, 2)} cores`);
  }
  if (r.warning) notes.push(`⚠ ${r.warning}`);
  if (r.ok === false) notes.push('not ok');
  const e = r.errors || {};
  const errs = Object.entries(e).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`);
  if (errs.length) notes.push(`errors: ${errs.join(', ')}`);
  return notes.join('; ');
};

function bestPeer(scenario, score, higherIsBetter = true) {
  let best = null;
  for (const peer of PEERS) {
    const r = get(scenario, peer);
    if (!r || r.error) continue;
    const v = score(r);
    if (v === undefined || v === null) continue;
    if (!best || (higherIsBetter ? v > best.value : v < best.value)) best = { peer, value: v };
  }
  return best;
}

const out = [];
const p = (line = '') => out.push(line);

p('# Benchmarks');
p();
p('cursord against the servers users would otherwise write: the same protocol on');
p('Node.js with `ws` and on Go with gorilla/websocket (both in `tests/bench/peers/`),');
p('measured in the same run, on the same machine, by the same load generator');
p('(`cursor-bench`, `tests/bench/cursor_bench/`). Generated by `tests/bench/run.sh`;');
p('every figure below is read from that run\'s result files.');
p();
p('## Machine and versions');
p();
p('| | |');
p('|---|---|');
p(`| date (UTC) | ${meta.date} |`);
p(`| CPU | ${meta.cpu}, ${meta.cores} cores (${meta.virtualization}) |`);
p(`| memory | ${fmt(meta.memory_kb / 1048576, 1)} GiB |`);
p(`| OS, kernel | ${meta.os}, Linux ${meta.kernel} |`);
p(`| open files per process | ${meta.nofile} (hard limit) |`);
p(`| cursord | ${meta.cursord} (git ${meta.git}${meta.server_dirty ? ' plus uncommitted changes in server/' : ''}), ${meta.gxx}, Boost ${meta.boost}, RelWithDebInfo |`);
p(`| Node.js peer | Node ${meta.node}, ws ${meta.ws} |`);
p(`| Go peer | ${meta.go}, gorilla/websocket ${meta.gorilla} (Debian) |`);
p(`| plots | ${meta.gnuplot} |`);
p(`| load average at the end | ${meta.loadavg_end} |`);
p();
p('## Method');
p();
p('- Each server runs alone on core 0 and cursor-bench alone on core 1 (`taskset`);');
p('  cursord runs with `--threads 1`, the Go peer gets one core (so `GOMAXPROCS` is 1),');
p('  Node is single-threaded anyway. Every server is started fresh for every scenario.');
if (meta.rt === 'auto') {
  p('- The machine is shared with other work. In the light latency scenarios (floor, 10 and');
  p('  50 members) servers and generator run as `SCHED_RR` (`chrt -r 10`); otherwise that');
  p('  work delays wakeups by whole scheduler slices and swamps sub-millisecond percentiles.');
  p('  Round-robin, not FIFO, so the runtimes\' helper threads (V8, Go) cannot starve their');
  p('  event loop. The loaded scenarios run with normal scheduling: with a real-time policy');
  p('  the kernel\'s own softirq threads get only the 5% left to ordinary tasks and stall the');
  p('  network path for tens of milliseconds (measured: cursord at 200 members, p99 24 ms');
  p('  under `SCHED_RR` against 5.5 ms without, on a quiet machine). Rows note when other work');
  p('  used about 0.3 cores or more during a run (busy time from `/proc/stat` less the server\'s');
  p('  and the generator\'s own).');
} else if (meta.rt === 'on' || meta.rt === 1) {
  p('- Servers and generator run as `SCHED_RR` (`chrt -r 10`) in every scenario.');
} else {
  p('- Normal scheduling (`--rt off`): percentiles include delays from anything else');
  p('  running on the machine.');
}
p(`- Each scenario runs ${meta.repeat || 1} times per server (alternating servers), each run measuring`);
p(`  ${meta.duration} s (idle: 4 s hold) after all members have joined. Tables show the median run`);
p('  (by p99 for rate, delivered/s for saturate, bytes per connection for idle, joins/s for');
p('  churn) and that figure for every run, lowest first, so the spread is visible.');
p('- **rate**: every sender sends at its fixed rate on an open-loop schedule; each update');
p('  carries a per-sender sequence number in x,y, and latency is measured from the');
p('  *intended* send time, so a stall anywhere shows up in full (no coordinated omission).');
p('  *Delivered/s* counts updates received inside the measured window. *Staleness* samples,');
p('  every 50 ms for every (receiver, sender) pair, how long the receiver has lacked an');
p('  update that was already due: 0 when it is current. cursord coalesces positions');
p('  (latest wins), so it may deliver fewer than *expected* while staying current; the peers');
p('  deliver every update or fall behind. *Final current* says whether every receiver ended');
p('  with every sender\'s last position.');
p('- **saturate**: every member sends as fast as a window of 4 unconfirmed updates allows');
p('  (confirmed when the next member receives them); latency from the actual send.');
p('- **idle**: connections in rooms of 50, spread over several generator processes;');
p('  server memory is the growth of its resident set (VmRSS) from before the first connection');
p('  to 1 s after the last join, divided by the connections.');
p('- **churn**: 10 rooms, each with 4 observers that stay and 4 members that join and');
p('  leave in a loop (join, wait for the id, close); observers count the join and leave');
p('  messages, which must equal joins × observers. A member leaves with the full closing');
p('  handshake (close frame, echo, the server\'s FIN, its own FIN); cursor-bench then reuses');
p('  the socket for the next join (`--recycle`, see tests/bench/README.md).');
p('- CPU is from `/proc/<pid>/stat` over the measured window, in cores (1.00 = one core busy).');
p('  cursor-bench warns when it is itself the bottleneck (≥ 90% of its core, or sending');
p('  more than 1 ms late at p99); such rows measure the generator\'s limit, not the server\'s.');
p();

// --- Targets ---------------------------------------------------------------

p('## Targets');
p();
p('| target | cursord | best peer | cursord vs best peer | met |');
p('|---|---|---|---|---|');
{
  const c = get('saturate100', 'cursord');
  const b = bestPeer('saturate100', (r) => r.delivered_per_s);
  const met = c && b && c.delivered_per_s >= 10 * b.value;
  p(`| saturate, room of 100: ≥ 10× best peer's delivered/s | ${c ? rate(c.delivered_per_s) + '/s' : '–'} | ${b ? `${rate(b.value)}/s (${b.peer})` : '–'} | ${b && c ? ratio(c.delivered_per_s, b.value) : '–'} | ${c && b ? (met ? 'yes' : 'no') : '–'} |`);
}
{
  const c = get('rate200', 'cursord');
  const b = bestPeer('rate200', (r) => r.latency && r.latency.p99_ms, false);
  const current = c && c.final_pairs === c.final_pairs_current;
  const met = c && current && c.latency.p99_ms <= 10;
  p(`| 200 members at 30 Hz: everyone current, p99 ≤ 10 ms | p99 ${c ? ms(c.latency.p99_ms) : '–'} ms, staleness p99 ${c ? ms(c.staleness.p99_ms) : '–'} ms | p99 ${b ? `${ms(b.value)} ms (${b.peer})` : '–'} | ${b && c ? lowerBetter(c.latency.p99_ms, b.value) : '–'} | ${c ? (met ? 'yes' : 'no') : '–'}${c && c.warning ? ' (generator-bound)' : ''} |`);
}
{
  const c = get('rate50', 'cursord');
  const b = bestPeer('rate50', (r) => r.latency && r.latency.p99_ms, false);
  const met = c && c.latency.p99_ms <= 1;
  p(`| 50 members at 30 Hz: p99 ≤ 1 ms | ${c ? ms(c.latency.p99_ms) : '–'} ms | ${b ? `${ms(b.value)} ms (${b.peer})` : '–'} | ${b && c ? lowerBetter(c.latency.p99_ms, b.value) : '–'} | ${c ? (met ? 'yes' : 'no') : '–'}${c && c.warning ? ' (generator-bound)' : ''} |`);
}
for (const s of ['idle10k', 'idlemax']) {
  const c = get(s, 'cursord');
  const b = bestPeer(s, (r) => r.server_rss_per_connection_bytes, false);
  const n = c ? c.connections : null;
  const met = c && c.ok && c.server_rss_per_connection_bytes <= 4096;
  p(`| idle, ${n ? fmt(n) : s} connections: ≤ 4 KB RSS each | ${c ? bytes(c.server_rss_per_connection_bytes) : '–'} | ${b ? `${bytes(b.value)} (${b.peer})` : '–'} | ${b && c ? lowerBetter(c.server_rss_per_connection_bytes, b.value) : '–'} | ${c ? (met ? 'yes' : 'no') : '–'} |`);
}
{
  const c = get('churn', 'cursord');
  const b = bestPeer('churn', (r) => r.joins_per_s);
  const met = c && c.all_seen && c.joins_per_s >= 20000;
  p(`| churn: ≥ 20k joins/s, all seen | ${c ? `${rate(c.joins_per_s)}/s, all seen: ${c.all_seen}` : '–'} | ${b ? `${rate(b.value)}/s (${b.peer})` : '–'} | ${b && c ? ratio(c.joins_per_s, b.value) : '–'} | ${c ? (met ? 'yes' : 'no') : '–'}${c && c.warning ? ' (generator-bound)' : ''} |`);
}
p();

// --- Rate ------------------------------------------------------------------

const RATE = [
  ['noise', '1 room × 2, 30 Hz (floor)'],
  ['rate10', '1 room × 10, 30 Hz'],
  ['rate50', '1 room × 50, 30 Hz'],
  ['rate200', '1 room × 200, 30 Hz'],
  ['rooms1000', '1,000 rooms × 10, 1 sender/room, 10 Hz'],
];
p('## Rate: fixed send rate, latency from the intended send time');
p();
p('| scenario | server | sent/s | expected/s | delivered/s | final current | latency p50 | p90 | p99 | p99.9 | max | staleness p99 | server CPU | generator CPU | p99 of each run | notes |');
p('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const [s, label] of RATE) {
  for (const server of SERVERS) {
    const r = get(s, server);
    if (!r) continue;
    if (r.error || !r.latency) {
      p(`| ${label} | ${SERVER_NAMES[server]} | | | | | | | | | | | | | | ${flag(r)} |`);
      continue;
    }
    const L = r.latency;
    const current = r.final_pairs ? `${pct(r.final_pairs_current / r.final_pairs)}` : '–';
    p(`| ${label} | ${SERVER_NAMES[server]} | ${rate(r.sent_per_s)} | ${rate(r.expected / r.duration_s)} | ${rate(r.delivered_per_s)} | ${current} | ${ms(L.p50_ms)} | ${ms(L.p90_ms)} | ${ms(L.p99_ms)} | ${ms(L.p999_ms)} | ${ms(L.max_ms)} | ${ms(r.staleness.p99_ms)} | ${cores(r.cpu.server_cores)} | ${cores(r.cpu.self_cores)} | ${spread(r)} | ${flag(r)} |`);
  }
}
p();
p('Latencies in milliseconds; rates per second (k = thousand, M = million).');
p();

// --- Plots -------------------------------------------------------------------

const sizes = [
  [10, 'rate10'],
  [50, 'rate50'],
  [200, 'rate200'],
];
fs.mkdirSync(plotDir, { recursive: true });
const dat = path.join(resultsDir, 'rate.dat');
const rows = ['# members ' + SERVERS.map((s) => `${s}_delivered ${s}_p99`).join(' ')];
for (const [n, s] of sizes) {
  const cols = SERVERS.map((server) => {
    const r = get(s, server);
    return r && r.latency ? `${r.delivered_per_s} ${Math.max(r.latency.p99_ms, 0.001)}` : 'NaN NaN';
  });
  rows.push(`${n} ${cols.join(' ')}`);
}
fs.writeFileSync(dat, rows.join('\n') + '\n');
const relPlot = path.relative(path.dirname(outFile), plotDir) || '.';
const plots = [
  ['delivered.png', 'Delivered cursor updates per second (30 Hz per member)', 'delivered updates / s', 2, false],
  ['p99.png', 'p99 latency from intended send time (30 Hz per member)', 'p99 latency (ms)', 3, true],
];
let plotted = true;
for (const [file, title, ylabel, firstCol, logY] of plots) {
  const series = SERVERS.map((server, i) => {
    const col = firstCol + 2 * i;
    return `'${dat}' using 1:${col} with linespoints lw 2 pt 7 title '${SERVER_NAMES[server]}'`;
  });
  const script = [
    `set terminal pngcairo size 800,500 font 'sans,10'`,
    `set output '${path.join(plotDir, file)}'`,
    `set title '${title}'`,
    `set xlabel 'members in the room'`,
    `set ylabel '${ylabel}'`,
    `set logscale x`,
    logY ? `set logscale y` : `set format y '%.1s%c'`,
    `set xrange [7:290]`,
    `set xtics (10, 50, 200)`,
    `set grid`,
    `set key top left`,
    `plot ${series.join(', ')}`,
  ].join('\n');
  try {
    execFileSync('gnuplot', [], { input: script });
  } catch (e) {
    plotted = false;
    console.error(`report.js: gnuplot failed for ${file}: ${e.message}`);
  }
}
if (plotted) {
  p(`![delivered updates per second against room size](${relPlot}/delivered.png)`);
  p();
  p(`![p99 latency against room size](${relPlot}/p99.png)`);
  p();
}

// --- Saturate --------------------------------------------------------------

p('## Saturate: one room of 100, everyone sending as fast as a window of 4 allows');
p();
p('| server | sent/s | delivered/s | vs best peer | latency p50 | p99 | p99.9 | final current | server CPU | generator CPU | delivered/s of each run | notes |');
p('|---|---|---|---|---|---|---|---|---|---|---|---|');
{
  const b = bestPeer('saturate100', (r) => r.delivered_per_s);
  for (const server of SERVERS) {
    const r = get('saturate100', server);
    if (!r) continue;
    if (r.error || !r.latency) {
      p(`| ${SERVER_NAMES[server]} | | | | | | | | | | | ${flag(r)} |`);
      continue;
    }
    p(`| ${SERVER_NAMES[server]} | ${rate(r.sent_per_s)} | ${rate(r.delivered_per_s)} | ${b ? ratio(r.delivered_per_s, b.value) : '–'} | ${ms(r.latency.p50_ms)} | ${ms(r.latency.p99_ms)} | ${ms(r.latency.p999_ms)} | ${pct(r.final_pairs_current / r.final_pairs)} | ${cores(r.cpu.server_cores)} | ${cores(r.cpu.self_cores)} | ${spread(r)} | ${flag(r)} |`);
  }
}
p();

// --- Idle --------------------------------------------------------------------

p('## Idle: server memory per open connection');
p();
p('| connections | server | joined | RSS before | RSS loaded | per connection | ÷ best peer | connect rate | B/conn of each run | notes |');
p('|---|---|---|---|---|---|---|---|---|---|');
for (const s of ['idle10k', 'idlemax']) {
  const b = bestPeer(s, (r) => r.server_rss_per_connection_bytes, false);
  for (const server of SERVERS) {
    const r = get(s, server);
    if (!r) continue;
    if (r.error) {
      p(`| ${s} | ${SERVER_NAMES[server]} | | | | | | | | ${flag(r)} |`);
      continue;
    }
    p(`| ${fmt(r.connections)} | ${SERVER_NAMES[server]} | ${fmt(r.joined)} | ${mib(r.server_rss_before_bytes)} | ${mib(r.server_rss_loaded_bytes)} | ${bytes(r.server_rss_per_connection_bytes)} | ${b ? ratio(r.server_rss_per_connection_bytes, b.value) : '–'} | ${rate(r.connect_per_s)}/s | ${spread(r)} | ${flag(r)} |`);
  }
}
p();

// --- Churn -------------------------------------------------------------------

p('## Churn: joins and leaves per second, every one announced');
p();
p('| server | joins/s | leaves/s | announced (joins, leaves / expected) | all seen | join latency p50 | p99 | server CPU | generator CPU | joins/s of each run | notes |');
p('|---|---|---|---|---|---|---|---|---|---|---|');
for (const server of SERVERS) {
  const r = get('churn', server);
  if (!r) continue;
  if (r.error || !r.join_latency) {
    p(`| ${SERVER_NAMES[server]} | | | | | | | | | | ${flag(r)} |`);
    continue;
  }
  p(`| ${SERVER_NAMES[server]} | ${rate(r.joins_per_s)} | ${rate(r.leaves_per_s)} | ${fmt(r.joins_seen)}, ${fmt(r.leaves_seen)} / ${fmt(r.expected_seen)} | ${r.all_seen} | ${ms(r.join_latency.p50_ms)} | ${ms(r.join_latency.p99_ms)} | ${cores(r.cpu.server_cores)} | ${cores(r.cpu.self_cores)} | ${spread(r)} | ${flag(r)} |`);
}
p();

// --- Commands ----------------------------------------------------------------

p('## Commands');
p();
p('Reproduce everything with `tests/bench/run.sh` (add `--duration 5` for a shorter run,');
p('`--servers cursord` or `--scenarios "rate50 churn"` for a subset, `--perf` for a cursord');
p('profile per scenario). The exact commands of this run, with the ephemeral ports and pids it got:');
p();
p('```');
const ORDER = ['noise', 'rate10', 'rate50', 'rate200', 'rooms1000', 'saturate100', 'idle10k', 'idlemax', 'churn'];
const commandFiles = fs.readdirSync(resultsDir).filter((f) => f.endsWith('.commands'));
commandFiles.sort((a, b) => ORDER.indexOf(a.split('.')[0]) - ORDER.indexOf(b.split('.')[0]));
const commands = commandFiles
  .map((f) => fs.readFileSync(path.join(resultsDir, f), 'utf8').trim())
  .join('\n');
p(commands.replace(new RegExp(path.resolve(__dirname, '../..') + '/', 'g'), ''));
p('```');
p();

let kept = '';
if (fs.existsSync(outFile)) {
  const old = fs.readFileSync(outFile, 'utf8');
  const at = old.indexOf(KEEP_MARKER);
  if (at >= 0) kept = old.slice(at + KEEP_MARKER.length).replace(/^\n+/, '');
}
p(KEEP_MARKER);
p();
if (kept) out.push(kept.trimEnd());
fs.writeFileSync(outFile, out.join('\n') + '\n');
