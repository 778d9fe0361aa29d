'use strict';
// The udpkit vs node:dgram benchmark. Run it with `udpkit bench [--quick]`
// (or `npm run bench`); this module does the work:
//   run(options) -> results   (see README-like notes in docs/benchmarks.md)
// Every measurement runs in child processes (bench/worker.js): the socket
// under test in one, its peer (generator / sink / echo server) in another.
// Implementations alternate inside each repetition so drift hits both alike.
const { fork } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { spawnSync } = require('node:child_process');

const WORKER = path.join(__dirname, 'worker.js');
const ROOT = path.resolve(__dirname, '..');
const RCVBUF = 4 << 20; // same for both impls (the kernel caps it at rmem_max)
const OFFERED_RATE = 100_000; // datagrams/s for the CPU-per-datagram rows

const MODES = {
  full: { reps: 5, warmupMs: 300, windowMs: 1500, pingCount: 10_000, pingWarmup: 500 },
  quick: { reps: 2, warmupMs: 150, windowMs: 500, pingCount: 2_000, pingWarmup: 200 },
};

// ---------------------------------------------------------------------------
// Child processes

function spawnWorker(cfg) {
  const child = fork(WORKER, [JSON.stringify(cfg)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const inbox = [];
  const waiting = [];
  let exited = null;
  child.on('message', (m) => {
    const i = waiting.findIndex((w) => w.type === m.type);
    if (i >= 0) waiting.splice(i, 1)[0].resolve(m);
    else inbox.push(m);
  });
  child.on('exit', (code, sig) => {
    exited = new Error(`bench worker ${cfg.role}/${cfg.impl || '-'} exited (${code ?? sig}) before answering`);
    for (const w of waiting.splice(0)) w.reject(exited);
  });
  return {
    child,
    /** Resolves with the next message of this type. */
    next(type, timeoutMs = 30_000) {
      const i = inbox.findIndex((m) => m.type === type);
      if (i >= 0) return Promise.resolve(inbox.splice(i, 1)[0]);
      if (exited) return Promise.reject(exited);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`bench worker ${cfg.role}/${cfg.impl || '-'}: no '${type}' within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.push({
          type,
          resolve: (m) => (clearTimeout(timer), resolve(m)),
          reject: (e) => (clearTimeout(timer), reject(e)),
        });
      });
    },
    post(m) {
      if (child.connected) child.send(m);
    },
    /** Asks it to exit, kills it if it does not, resolves when gone. */
    stop() {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      return new Promise((resolve) => {
        const t = setTimeout(() => child.kill('SIGKILL'), 2000);
        child.once('exit', () => (clearTimeout(t), resolve()));
        if (child.connected) child.send({ type: 'exit' });
        else child.kill('SIGTERM');
      });
    },
  };
}

async function withWorkers(list, fn) {
  try {
    return await fn();
  } finally {
    await Promise.all(list.filter(Boolean).map((w) => w.stop()));
  }
}

// ---------------------------------------------------------------------------
// Scenarios: each runs once and returns raw figures.

/** Receiver under a generator at `rate` (0 = flood). */
async function runRecv(mode, { impl, api, size, rate, shared }) {
  const rx = spawnWorker({ role: 'recv', impl, api, shared, recvBufferSize: RCVBUF });
  let gen = null;
  return withWorkers([rx, null], async () => {
    const { port } = await rx.next('ready');
    gen = spawnWorker({ role: 'flood', port, size, rate });
    try {
      const g = await gen.next('ready');
      rx.post({ type: 'go', warmupMs: mode.warmupMs, windowMs: mode.windowMs });
      const r = await rx.next('result', mode.warmupMs + mode.windowMs + 30_000);
      gen.post({ type: 'stop' });
      return {
        rate: (r.count * 1000) / r.elapsedMs,
        cpuPerDgramNs: r.count > 0 ? (r.cpuMicros * 1000) / r.count : NaN,
        userPerDgramNs: r.count > 0 ? (r.userMicros * 1000) / r.count : NaN,
        sysPerDgramNs: r.count > 0 ? (r.sysMicros * 1000) / r.count : NaN,
        // Share of one core the receiver used, and datagrams per CPU-second.
        utilisation: (r.cpuMicros / 1000) / r.elapsedMs,
        capacity: r.cpuMicros > 0 ? (r.count * 1e6) / r.cpuMicros : NaN,
        maxRssMiB: r.maxRss / 1048576,
        drops: r.drops,
        generator: g.generator,
      };
    } finally {
      await gen.stop();
    }
  });
}

/** Sender under test, flat out, towards a counting udpkit sink. */
async function runSend(mode, { impl, api, size }) {
  const sinkW = spawnWorker({ role: 'sink', mode: 'count', recvBufferSize: RCVBUF });
  return withWorkers([sinkW], async () => {
    const { port } = await sinkW.next('ready');
    const tx = spawnWorker({ role: 'send', impl, api, size, port });
    return withWorkers([tx], async () => {
      await tx.next('ready');
      tx.post({ type: 'go', warmupMs: mode.warmupMs, windowMs: mode.windowMs });
      const r = await tx.next('result', mode.warmupMs + mode.windowMs + 30_000);
      return {
        rate: (r.count * 1000) / r.elapsedMs,
        cpuPerDgramNs: (r.cpuMicros * 1000) / r.count,
        userPerDgramNs: (r.userMicros * 1000) / r.count,
        sysPerDgramNs: (r.sysMicros * 1000) / r.count,
      };
    });
  });
}

/** Ping-pong: client and echo server of the same impl, separate processes. */
async function runPing(mode, { impl }) {
  const srv = spawnWorker({ role: 'echo', impl });
  return withWorkers([srv], async () => {
    const { port } = await srv.next('ready');
    const cli = spawnWorker({ role: 'ping', impl, port, count: mode.pingCount, warmup: mode.pingWarmup, size: 64 });
    return withWorkers([cli], async () => {
      await cli.next('ready');
      cli.post({ type: 'go' });
      const r = await cli.next('result', 120_000);
      return { p50: r.p50, p99: r.p99, lost: r.lost };
    });
  });
}

// ---------------------------------------------------------------------------
// The table: rows are (metric, variant); the first variant of each metric is
// node:dgram's, the baseline its ratios are taken against.

const NODE_MSG = { impl: 'node', api: 'message', label: "node:dgram 'message'" };
const KIT_MSG = { impl: 'udpkit', api: 'message', label: "udpkit 'message'" };
const KIT_BATCH = { impl: 'udpkit', api: 'messages', label: "udpkit 'messages' (batch)" };
// A descriptor other processes may hold (its _handle.fd was read): one datagram per read.
const KIT_SHARED = { impl: 'udpkit', api: 'message', shared: true, label: "udpkit 'message', shared descriptor" };
const NODE_SEND = { impl: 'node', api: 'send', label: 'node:dgram send()' };
const KIT_SEND = { impl: 'udpkit', api: 'send', label: 'udpkit send()' };
const KIT_MANY = { impl: 'udpkit', api: 'sendMany', label: 'udpkit sendMany()' };
const NODE_PP = { impl: 'node', api: 'ping', label: 'node:dgram' };
const KIT_PP = { impl: 'udpkit', api: 'ping', label: 'udpkit' };

const target = (kind, value) => ({ kind, value });

/**
 * Scenario groups. Each scenario runs every variant once per repetition and
 * yields samples for one or more metrics.
 */
function scenarios() {
  const list = [];
  for (const size of [64, 1200]) {
    list.push({
      id: `recv-sat-${size}`,
      title: `receive ${size} B, saturation`,
      variants: [NODE_MSG, KIT_MSG, KIT_BATCH, KIT_SHARED],
      run: (mode, v) => runRecv(mode, { impl: v.impl, api: v.api, size, rate: 0, shared: v.shared }),
      metrics: [
        {
          id: `recv-sat-${size}`,
          title: `receive ${size} B at saturation`,
          unit: 'datagrams/s',
          better: 'higher',
          pick: (r) => r.rate,
          targets: { [KIT_MSG.label]: target('ratio>=', 2.5), [KIT_BATCH.label]: target('ratio>=', 2.5) },
        },
        {
          id: `recv-util-${size}`,
          title: `receiver CPU use (share of a core) under a ${size} B flood`,
          unit: 'core',
          better: 'lower',
          pick: (r) => r.utilisation,
          targets: {},
        },
        {
          id: `recv-cap-${size}`,
          title: `receive ${size} B capacity (datagrams per receiver CPU-second, flood)`,
          unit: 'datagrams/s',
          better: 'higher',
          pick: (r) => r.capacity,
          targets: { [KIT_MSG.label]: target('ratio>=', 2.5), [KIT_BATCH.label]: target('ratio>=', 2.5) },
        },
        ...(size === 64
          ? [
              {
                id: 'recv-rss-64',
                title: 'receiver max RSS under a 64 B flood',
                unit: 'MiB',
                better: 'lower',
                pick: (r) => r.maxRssMiB,
                targets: { [KIT_MSG.label]: target('delta<=', 16), [KIT_BATCH.label]: target('delta<=', 16) },
              },
            ]
          : []),
      ],
    });
    list.push({
      id: `recv-cpu-${size}`,
      title: `receive ${size} B at ${OFFERED_RATE / 1000}k/s`,
      variants: [NODE_MSG, KIT_MSG, KIT_BATCH, KIT_SHARED],
      run: (mode, v) => runRecv(mode, { impl: v.impl, api: v.api, size, rate: OFFERED_RATE, shared: v.shared }),
      metrics: [
        {
          id: `recv-cpu-${size}`,
          title: `receiver CPU per ${size} B datagram at ${OFFERED_RATE / 1000}k/s`,
          unit: 'ns',
          better: 'lower',
          pick: (r) => r.cpuPerDgramNs,
          targets: { [KIT_MSG.label]: target('ratio<=', 0.4), [KIT_BATCH.label]: target('ratio<=', 0.32) },
        },
      ],
    });
  }
  list.push({
    id: 'send-64',
    title: 'send 64 B, flat out',
    variants: [NODE_SEND, KIT_SEND, KIT_MANY],
    run: (mode, v) => runSend(mode, { impl: v.impl, api: v.api, size: 64 }),
    metrics: [
      { id: 'send-rate-64', title: 'send 64 B, handed to the kernel', unit: 'datagrams/s', better: 'higher', pick: (r) => r.rate, targets: {} },
      {
        id: 'send-cpu-64',
        title: 'sender CPU per 64 B datagram',
        unit: 'ns',
        better: 'lower',
        pick: (r) => r.cpuPerDgramNs,
        targets: { [KIT_SEND.label]: target('ratio<=', 0.65), [KIT_MANY.label]: target('ratio<=', 0.58) },
      },
    ],
  });
  list.push({
    id: 'pingpong',
    title: 'ping-pong 64 B',
    variants: [NODE_PP, KIT_PP],
    run: (mode, v) => runPing(mode, { impl: v.impl }),
    metrics: [
      { id: 'pp-p50', title: 'ping-pong round trip p50', unit: 'µs', better: 'lower', pick: (r) => r.p50, targets: { [KIT_PP.label]: target('ratio<=', 0.68) } },
      { id: 'pp-p99', title: 'ping-pong round trip p99', unit: 'µs', better: 'lower', pick: (r) => r.p99, targets: {} },
    ],
  });
  return list;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function judge(t, ratio, delta) {
  if (!t) return null;
  if (t.kind === 'ratio<=') return ratio <= t.value;
  if (t.kind === 'ratio>=') return ratio >= t.value;
  if (t.kind === 'delta<=') return delta <= t.value;
  return null;
}

function targetText(t) {
  if (!t) return '';
  if (t.kind === 'ratio<=') return `≤ ${t.value.toFixed(2)}`;
  if (t.kind === 'ratio>=') return `≥ ${t.value.toFixed(2)}`;
  if (t.kind === 'delta<=') return `≤ node + ${t.value} MiB`;
  return '';
}

/**
 * Saturation rows only mean "saturation" when the receiver used a whole core;
 * otherwise the load generator was the bottleneck and the rate is a lower bound.
 */
function saturationNotes(rows) {
  const notes = [];
  for (const size of [64, 1200]) {
    const short = rows.filter((r) => r.metric === `recv-util-${size}` && r.median < 0.9);
    if (short.length === 0) continue;
    notes.push(
      `receive ${size} B at saturation: ${short.map((r) => `${r.variant} used only ${r.median.toFixed(2)} of a core`).join(', ')}, ` +
        `so it was not saturated: the single load generator was the bottleneck (on loopback a send costs the sender about as much ` +
        `kernel time as the receive costs the receiver, and there are 2 cores). Its rate there is a lower bound; the capacity row ` +
        `(datagrams per receiver CPU-second under the same flood) is the comparable figure.`,
    );
  }
  return notes;
}

/** Where the workers load udpkit from (UDPKIT_DIST overrides, e.g. for a private build). */
function udpkitDist() {
  return process.env.UDPKIT_DIST || path.join(ROOT, 'dist');
}

/**
 * Checks, in a throwaway process, that udpkit loads and can bind a socket.
 * Returns null when it does, else a one-line reason.
 */
function checkUdpkit() {
  const entry = path.join(udpkitDist(), 'index.js');
  const code = `const u = require(${JSON.stringify(entry)}); const s = u.createSocket('udp4'); s.bind(0, '127.0.0.1', () => s.close());`;
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', timeout: 10_000 });
  if (r.status === 0) return null;
  const why = `${r.stderr || ''}`.split('\n').find((l) => l.trim() !== '') || `exit ${r.status ?? r.signal}`;
  return `udpkit (${entry}) does not load: ${why.trim()}`;
}

function machineFacts() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0] ? cpus[0].model.trim() : 'unknown',
    cores: cpus.length,
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    date: new Date().toISOString(),
  };
}

/**
 * Runs the benchmark.
 * @param {{ quick?: boolean, onProgress?: (done: number, total: number, what: string) => void }} options
 */
async function run(options = {}) {
  const modeName = options.quick ? 'quick' : 'full';
  const mode = MODES[modeName];
  const onProgress = options.onProgress || (() => {});
  const list = scenarios();
  const total = list.reduce((n, s) => n + s.variants.length, 0) * mode.reps;
  let done = 0;
  const samples = new Map(); // `${metric.id}|${variant.label}` -> number[]
  const raw = []; // every run's figures, for the JSON
  const notes = new Set();
  const started = Date.now();
  for (let rep = 0; rep < mode.reps; rep++) {
    for (const sc of list) {
      // Alternate the order of variants between repetitions.
      const variants = rep % 2 ? [...sc.variants].reverse() : sc.variants;
      for (const v of variants) {
        onProgress(done, total, `${sc.title}: ${v.label} (rep ${rep + 1}/${mode.reps})`);
        const r = await sc.run(mode, v);
        raw.push({ scenario: sc.id, variant: v.label, rep, ...r });
        if (r.generator && r.generator !== 'udpkit') notes.add(`load generator fell back to ${r.generator} (udpkit not loadable)`);
        for (const m of sc.metrics) {
          const key = `${m.id}|${v.label}`;
          if (!samples.has(key)) samples.set(key, []);
          samples.get(key).push(m.pick(r));
        }
        done++;
      }
    }
  }
  onProgress(done, total, 'done');
  const rows = [];
  for (const sc of list) {
    for (const m of sc.metrics) {
      const base = median(samples.get(`${m.id}|${sc.variants[0].label}`));
      for (const v of sc.variants) {
        const xs = samples.get(`${m.id}|${v.label}`);
        const med = median(xs);
        const isBase = v === sc.variants[0];
        const ratio = isBase ? 1 : med / base;
        const t = isBase ? null : m.targets[v.label] || null;
        rows.push({
          metric: m.id,
          title: m.title,
          unit: m.unit,
          better: m.better,
          variant: v.label,
          impl: v.impl,
          baseline: isBase,
          samples: xs,
          median: med,
          min: Math.min(...xs),
          max: Math.max(...xs),
          ratio,
          delta: med - base,
          target: t ? targetText(t) : '',
          targetSpec: t,
          pass: judge(t, ratio, med - base),
        });
      }
    }
  }
  for (const n of saturationNotes(rows)) notes.add(n);
  return {
    mode: modeName,
    settings: { ...mode, recvBufferSize: RCVBUF, offeredRate: OFFERED_RATE, sendBurst: 64, generator: 'udpkit sendMany, 64 per call' },
    machine: machineFacts(),
    durationS: (Date.now() - started) / 1000,
    notes: [...notes],
    rows,
    raw,
  };
}

// ---------------------------------------------------------------------------
// Output: text table, markdown, SVG

function fmt(x, unit) {
  if (!Number.isFinite(x)) return 'n/a';
  if (unit === 'datagrams/s') return x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : `${(x / 1e3).toFixed(0)}k`;
  if (unit === 'MiB') return x.toFixed(1);
  if (unit === 'ns') return x.toFixed(0);
  if (unit === 'µs') return x.toFixed(1);
  if (unit === 'core') return x.toFixed(2);
  return String(x);
}

function cells(row) {
  const mark = row.pass === null ? '' : row.pass ? 'pass' : 'FAIL';
  return [
    row.title,
    row.variant,
    `${fmt(row.median, row.unit)} ${row.unit}`,
    `${fmt(row.min, row.unit)}–${fmt(row.max, row.unit)}`,
    row.baseline ? '1.00' : row.unit === 'MiB' ? `${row.ratio.toFixed(2)} (${row.delta >= 0 ? '+' : ''}${row.delta.toFixed(1)} MiB)` : row.ratio.toFixed(2),
    row.target,
    mark,
  ];
}

const HEAD = ['metric', 'variant', 'median', 'min–max', 'ratio', 'target', ''];

function textTable(results) {
  const body = results.rows.map(cells);
  const all = [HEAD, ...body];
  const w = HEAD.map((_, i) => Math.max(...all.map((r) => [...r[i]].length)));
  const line = (r) => r.map((c, i) => c + ' '.repeat(w[i] - [...c].length)).join('  ').trimEnd();
  const out = [line(HEAD), w.map((n) => '-'.repeat(n)).join('  ')];
  let prev = null;
  for (let i = 0; i < body.length; i++) {
    const r = body[i];
    if (prev !== null && results.rows[i].metric !== prev) out.push('');
    prev = results.rows[i].metric;
    out.push(line(r));
  }
  const judged = results.rows.filter((r) => r.pass !== null);
  out.push('', `targets met: ${judged.filter((r) => r.pass).length}/${judged.length}` + ` (${results.mode} run, ${results.durationS.toFixed(0)} s; ratio = udpkit / node:dgram, medians)`);
  for (const n of results.notes) out.push(`note: ${n}`);
  return out.join('\n');
}

function markdown(results) {
  const m = results.machine;
  const s = results.settings;
  const esc = (c) => c.replace(/\|/g, '\\|');
  const lines = [
    '# Benchmarks',
    '',
    'udpkit against node:dgram, side by side in one run of `udpkit bench` (also `npm run bench`; `--quick` for a short run).',
    'This file, `bench/results/latest.json` and `docs/bench-ratios.svg` are written by that command.',
    '',
    `Run: ${results.mode}, ${s.reps} repetitions, ${s.warmupMs} ms warm-up + ${s.windowMs} ms window per measurement, ${results.durationS.toFixed(0)} s in all.`,
    '',
    '| machine | |',
    '| --- | --- |',
    `| CPU | ${m.cpu} |`,
    `| cores | ${m.cores} |`,
    `| memory | ${m.memoryGiB} GiB |`,
    `| OS | ${m.platform} |`,
    `| Node.js | ${m.node} |`,
    `| date | ${m.date} |`,
    '',
    'Medians over the repetitions, min–max beside them; ratio = udpkit / node:dgram in the same run (for RSS also the difference).',
    'Lower is better for CPU, latency and RSS; higher for datagrams/s.',
    '',
    `| ${HEAD.map(esc).join(' | ')} |`,
    `| ${HEAD.map(() => '---').join(' | ')} |`,
    ...results.rows.map((r) => `| ${cells(r).map(esc).map((c, i) => (i === 6 && c ? (r.pass ? '✅ pass' : '❌ fail') : c)).join(' | ')} |`),
    '',
    '![ratios](bench-ratios.svg)',
    '',
    '## How it is measured',
    '',
    '- Every measurement runs in child processes: the socket under test in one, its peer in another; the parent only coordinates. Each repetition runs every variant once, alternating their order.',
    `- **Receive, saturation**: a generator process floods 127.0.0.1 with ${s.generator}; the receiver counts what it gets during the window. Receivers ask for SO_RCVBUF = ${s.recvBufferSize} bytes (both impls; the kernel caps it at net.core.rmem_max).`,
    `- **Receive CPU per datagram**: the same, with the generator paced at ${s.offeredRate / 1000}k datagrams/s (bursts per 1 ms timer tick); the receiver's process.cpuUsage() (user + system) over the window divided by the datagrams it received. This is the stable figure on a noisy machine.`,
    "- 'message' rows listen to 'message'; the batch row listens to udpkit's 'messages' only. Both batch ratios are against node:dgram's 'message'.",
    "- The shared-descriptor row is udpkit 'message' on a socket whose `_handle.fd` was read, so that other processes may hold its descriptor: it takes one datagram per read and per call into JavaScript (docs/process.md), the price of never reading a datagram it does not deliver.",
    `- **Send**: the sender under test sends 64 B datagrams flat out in bursts of ${s.sendBurst} (send(): ${s.sendBurst} calls, a callback on the last; sendMany(): one call of ${s.sendBurst}), counting what was handed to the kernel and its own CPU. The other end is a udpkit socket in another process that only counts (batches), the same for both impls. Sending to a closed port instead would make the kernel answer every datagram with an ICMP port-unreachable (rate-limited) inside the sender's own system time; a live receiver is the realistic case and keeps the receive side in its own process.`,
    `- **Ping-pong**: ${s.pingCount} sequential 64 B round trips after ${s.pingWarmup} warm-up ones, client and echo server in separate processes, same impl on both sides.`,
    '- **Capacity**: under the same flood, datagrams received per second of receiver CPU (user + system). When the generator, not the receiver, is the bottleneck (the receiver uses less than a whole core) the raw saturation rate says little and this is the comparable figure; the utilisation rows show which case a run was in.',
    '- **RSS**: the receiver samples its resident set size every 50 ms during the 64 B flood window; the row is the maximum.',
    '',
  ];
  for (const n of results.notes) lines.push(`Note: ${n}`, '');
  return lines.join('\n');
}

function svg(results) {
  const rows = results.rows.filter((r) => !r.baseline);
  const labelOf = (r) => `${r.title.replace(/ at \d+k\/s| at saturation|, handed to the kernel/g, '')} — ${r.variant.replace(/^udpkit /, '')}`;
  // Room for the longest label (about 6.8 px a character at 12 px sans-serif).
  const left = Math.max(200, Math.ceil(Math.max(...rows.map((r) => labelOf(r).length)) * 6.8) + 16);
  const W = left + 430;
  const rowH = 26;
  const top = 40;
  const H = top + rows.length * rowH + 40;
  const maxRatio = Math.max(2, ...rows.map((r) => (Number.isFinite(r.ratio) ? r.ratio : 0))) * 1.05;
  const plotW = W - left - 80;
  const x = (v) => left + (Math.min(v, maxRatio) / maxRatio) * plotW;
  const escXml = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">udpkit / node:dgram (${escXml(results.machine.node)}, ${results.mode} run, ${results.machine.date.slice(0, 10)})</text>`,
  ];
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    const ok = r.pass;
    const color = ok === null ? '#8899aa' : ok ? '#3a9a4a' : '#d0503a';
    const v = Number.isFinite(r.ratio) ? r.ratio : 0;
    const label = labelOf(r);
    parts.push(`<text x="${left - 8}" y="${y + 16}" text-anchor="end">${escXml(label)}</text>`);
    parts.push(`<rect x="${left}" y="${y + 5}" width="${Math.max(1, x(v) - left).toFixed(1)}" height="${rowH - 10}" fill="${color}"/>`);
    parts.push(`<text x="${(x(v) + 4).toFixed(1)}" y="${y + 16}">${v < 1 ? v.toFixed(3) : v.toFixed(2)}${r.better === 'lower' ? ' ↓' : ' ↑'}</text>`);
  });
  const one = x(1).toFixed(1);
  parts.push(`<line x1="${one}" y1="${top - 4}" x2="${one}" y2="${top + rows.length * rowH + 4}" stroke="#000" stroke-dasharray="4 3"/>`);
  parts.push(`<text x="${one}" y="${top + rows.length * rowH + 18}" text-anchor="middle">1.0 = node:dgram</text>`);
  parts.push(`<text x="10" y="${H - 8}" fill="#555">↓ lower is better, ↑ higher is better; green: target met, red: missed, grey: no target</text>`);
  parts.push('</svg>', '');
  return parts.join('\n');
}

function writeOutputs(results, { json, docs }) {
  // A quick run must not replace the committed full results.
  const jsonPath = json || path.join(ROOT, 'bench', 'results', results.mode === 'quick' ? 'tmp-quick.json' : 'latest.json');
  fs.mkdirSync(path.dirname(jsonPath), { recursive: true });
  fs.writeFileSync(jsonPath, JSON.stringify(results, null, 2) + '\n');
  const written = [jsonPath];
  if (docs) {
    const d = path.join(ROOT, 'docs');
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, 'benchmarks.md'), markdown(results));
    fs.writeFileSync(path.join(d, 'bench-ratios.svg'), svg(results));
    written.push(path.join(d, 'benchmarks.md'), path.join(d, 'bench-ratios.svg'));
    if (updateReadme(results)) written.push(path.join(ROOT, 'README.md'));
  }
  return written;
}

/** The README's short table: each target row with its ratio, between the bench-table markers. */
function readmeTable(results) {
  const fmt = (r) => (r >= 10 ? r.toFixed(1) : r >= 1 ? r.toFixed(2) : r.toFixed(3));
  const lines = [
    `Full run of ${results.machine?.date?.slice(0, 10) ?? 'unknown date'} on ${results.machine?.cpu ?? 'unknown CPU'}, ` +
      `${results.machine?.cores ?? '?'} cores, Node.js ${results.machine?.node ?? process.version}.`,
    '',
    '| metric | udpkit variant | ratio to node:dgram | target | |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const row of results.rows) {
    if (row.baseline || !row.targetSpec) continue;
    const ratio = row.unit === 'MiB' || /RSS/.test(row.title) ? `${fmt(row.ratio)} (+${row.delta.toFixed(1)} MiB)` : fmt(row.ratio);
    lines.push(`| ${row.title} | ${row.variant} | ${ratio} | ${row.target} | ${row.pass ? 'pass' : 'not met'} |`);
  }
  return lines.join('\n');
}

function updateReadme(results) {
  if (results.mode !== 'full') return false;
  const file = path.join(ROOT, 'README.md');
  if (!fs.existsSync(file)) return false;
  const text = fs.readFileSync(file, 'utf8');
  const start = '<!-- bench-table -->';
  const end = '<!-- /bench-table -->';
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < a) return false;
  fs.writeFileSync(file, `${text.slice(0, a + start.length)}\n${readmeTable(results)}\n${text.slice(b)}`);
  return true;
}

module.exports = { saturationNotes, updateReadme, run, checkUdpkit, udpkitDist, textTable, markdown, svg, writeOutputs, MODES, runRecv, runSend, runPing };
