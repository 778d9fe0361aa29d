'use strict';
// The udpkit vs node:dgram benchmark. Run it with `udpkit bench [--quick]`
// (or `npm run bench`); this module does the work:
//   run(options) -> results; textTable / markdown / svg render them.
// Every measurement runs in child processes (bench/worker.js): the socket
// under test in one, its peers (load generators, sinks, echo server) in
// others; the parent only coordinates. Variants alternate inside each
// repetition so drift hits all alike. Bun's node:dgram is a third column
// when a Bun binary is found (see findBun).
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const render = require('./render-lib.js');

const WORKER = path.join(__dirname, 'worker.js');
const ROOT = path.resolve(__dirname, '..');
const LOADGEN_SRC = path.join(ROOT, 'native', 'tools', 'loadgen.c');
const RCVBUF = 4 << 20; // same for every impl (the kernel caps it at rmem_max)
const OFFERED_RATE = 100_000; // datagrams/s for the CPU-per-datagram rows

/** Ordinary senders: several processes and source ports, plain sendmmsg batches, no GSO. */
const ORDINARY = { procs: 4, sockets: 4, batch: 8 };
/** Mixed sizes, in turn: mostly small, some mid, some near the MTU (mean 402 B). */
const MIXED = [64, 64, 120, 200, 64, 512, 80, 1200, 64, 300, 64, 1400, 100, 64, 700, 150];
const FANOUT = 64;
const RESULT_GRACE_MS = 5000;

const MODES = {
  full: { reps: 3, warmupMs: 300, windowMs: 1500, pingCount: 10_000, pingWarmup: 500 },
  quick: { reps: 1, warmupMs: 150, windowMs: 400, pingCount: 2_000, pingWarmup: 200 },
};

// ---------------------------------------------------------------------------
// Runtimes and tools found on this machine

/**
 * A Bun binary, or null: UDPKIT_BENCH_BUN (a path; "0" turns Bun off), the
 * registry's @oven/bun-linux-x64 under node_modules, or `bun` on PATH.
 */
function findBun() {
  const env = process.env.UDPKIT_BENCH_BUN;
  if (env === '0') return null;
  const candidates = env ? [env] : [path.join(ROOT, 'node_modules', '@oven', 'bun-linux-x64', 'bin', 'bun'), 'bun'];
  for (const bin of candidates) {
    const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    if (r.status === 0) return { bin, version: r.stdout.trim() };
  }
  return null;
}

/**
 * native/tools/loadgen.c, compiled with the machine's cc (CC overrides) into
 * build/; null (and the Node generator instead) when there is no compiler,
 * or when UDPKIT_BENCH_LOADGEN=0 asks for the Node one.
 */
function buildLoadgen() {
  if (process.env.UDPKIT_BENCH_LOADGEN === '0') return { bin: null, why: 'UDPKIT_BENCH_LOADGEN=0' };
  const out = path.join(ROOT, 'build', 'bench-loadgen');
  try {
    if (fs.statSync(out).mtimeMs >= fs.statSync(LOADGEN_SRC).mtimeMs) return { bin: out };
  } catch {}
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const r = spawnSync(process.env.CC || 'cc', ['-O2', '-o', out, LOADGEN_SRC], { encoding: 'utf8', timeout: 60_000 });
  if (r.status === 0) return { bin: out };
  const why = r.error ? r.error.message : `${r.stderr || ''}`.split('\n')[0];
  return { bin: null, why };
}

// ---------------------------------------------------------------------------
// Child processes, spoken to in JSON lines over stdin/stdout

function spawnWorker(cfg, { runtime = process.execPath, env = {} } = {}) {
  const child = spawn(runtime, [WORKER, JSON.stringify(cfg)], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  const name = `bench worker ${cfg.role}/${cfg.impl || '-'}`;
  return lineChild(child, name, (line) => JSON.parse(line));
}

/** The C load generator: "ready", then {"sent":N} once told to stop. */
function spawnLoadgen(bin, args) {
  const child = spawn(bin, args.map(String), { stdio: ['pipe', 'pipe', 'inherit'] });
  return lineChild(child, 'loadgen', (line) => (line === 'ready' ? { type: 'ready', generator: 'loadgen' } : { type: 'stopped', ...JSON.parse(line) }));
}

function lineChild(child, name, decode) {
  const inbox = [];
  const waiting = [];
  let exited = null;
  child.stdin.on('error', () => {});
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    let m;
    try {
      m = decode(line);
    } catch {
      return;
    }
    const i = waiting.findIndex((w) => w.type === m.type);
    if (i >= 0) waiting.splice(i, 1)[0].resolve(m);
    else inbox.push(m);
  });
  child.on('exit', (code, sig) => {
    exited = new Error(`${name} exited (${code ?? sig}) before answering`);
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
        const timer = setTimeout(() => reject(new Error(`${name}: no '${type}' within ${timeoutMs} ms`)), timeoutMs);
        waiting.push({
          type,
          resolve: (m) => (clearTimeout(timer), resolve(m)),
          reject: (e) => (clearTimeout(timer), reject(e)),
        });
      });
    },
    post(m) {
      if (child.stdin.writable) child.stdin.write(JSON.stringify(m) + '\n');
    },
    /** Closes its stdin (the signal to exit), kills it if it lingers, resolves when gone. */
    stop() {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      return new Promise((resolve) => {
        const t = setTimeout(() => child.kill('SIGKILL'), 2000);
        child.once('exit', () => (clearTimeout(t), resolve()));
        child.stdin.end();
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
// Load: ordinary senders (the C generator, or Node's without a compiler), or
// udpkit's own GSO sender.

async function startLoad(env, { port, rate, sizes, kind }) {
  const gens = [];
  if (kind === 'gso') {
    gens.push(spawnWorker({ role: 'gen', port, rate, sizes, sockets: 1, batch: 64 }));
  } else {
    const { procs, sockets, batch } = ORDINARY;
    for (let i = 0; i < procs; i++) {
      const share = rate ? rate / procs : 0;
      if (env.loadgen) gens.push(spawnLoadgen(env.loadgen, ['127.0.0.1', port, share, sockets, batch, sizes.join(',')]));
      else gens.push(spawnWorker({ role: 'gen', port, rate: share, sizes, sockets, batch }, { env: { UDPKIT_OFFLOAD: '0' } }));
    }
  }
  try {
    const ready = await Promise.all(gens.map((g) => g.next('ready')));
    return { gens, generator: ready[0].generator };
  } catch (e) {
    await Promise.all(gens.map((g) => g.stop()));
    throw e;
  }
}

async function stopLoad(load) {
  for (const g of load.gens) g.post({ type: 'stop' });
  await Promise.all(load.gens.map((g) => g.next('stopped', 5000).catch(() => null)));
  await Promise.all(load.gens.map((g) => g.stop()));
}

// ---------------------------------------------------------------------------
// Scenarios: each runs once and returns raw figures.

function runtimeOf(env, v) {
  return { runtime: v.runtime === 'bun' ? env.bun.bin : process.execPath, env: v.env || {} };
}

/** A receiver (or several, with procs) under load at `rate` (0 = flat out). */
async function runRecv(env, mode, v, { size, sizes, rate, kind = 'plain' }) {
  const rx = spawnWorker(
    { role: 'recv', impl: v.impl, api: v.api || 'message', recvBufferSize: RCVBUF, procs: v.procs || 0, reusePort: !!v.reusePort },
    runtimeOf(env, v),
  );
  return withWorkers([rx], async () => {
    const { port } = await rx.next('ready');
    const load = await startLoad(env, { port, rate, sizes: sizes || [size], kind });
    try {
      rx.post({ type: 'go', warmupMs: mode.warmupMs, windowMs: mode.windowMs });
      // A receiver whose loop cannot run the window's timer under the load
      // is a finding, reported as such (n/a and a note), not a long wait.
      const r = await rx.next('result', mode.warmupMs + mode.windowMs + RESULT_GRACE_MS).catch(() => {
        throw new Error(`the receiver did not report within ${RESULT_GRACE_MS / 1000} s of the end of its window`);
      });
      return {
        rate: (r.count * 1000) / r.elapsedMs,
        cpuPerDgramNs: r.count > 0 ? (r.cpuMicros * 1000) / r.count : NaN,
        utilisation: r.cpuMicros / 1000 / r.elapsedMs,
        capacity: r.cpuMicros > 0 ? (r.count * 1e6) / r.cpuMicros : NaN,
        maxRssMiB: r.maxRss / 1048576,
        latP50: r.lat.p50,
        latP99: r.lat.p99,
        perProcess: r.perProcess,
        generator: load.generator,
      };
    } finally {
      await stopLoad(load);
    }
  });
}

/** The sender under test, flat out, towards counting udpkit sinks. */
async function runSend(env, mode, v, { sizes, dests }) {
  const sinkW = spawnWorker({ role: 'sink', sockets: dests, recvBufferSize: RCVBUF });
  return withWorkers([sinkW], async () => {
    const { ports } = await sinkW.next('ready');
    const tx = spawnWorker({ role: 'send', impl: v.impl, api: v.api, sizes, ports }, runtimeOf(env, v));
    return withWorkers([tx], async () => {
      await tx.next('ready');
      tx.post({ type: 'go', warmupMs: mode.warmupMs, windowMs: mode.windowMs });
      const r = await tx.next('result', mode.warmupMs + mode.windowMs + 30_000);
      return { rate: (r.count * 1000) / r.elapsedMs, cpuPerDgramNs: (r.cpuMicros * 1000) / r.count };
    });
  });
}

/** Ping-pong: client and echo server of the same impl, separate processes. */
async function runPing(env, mode, v) {
  const srv = spawnWorker({ role: 'echo', impl: v.impl }, runtimeOf(env, v));
  return withWorkers([srv], async () => {
    const { port } = await srv.next('ready');
    const cli = spawnWorker({ role: 'ping', impl: v.impl, port, count: mode.pingCount, warmup: mode.pingWarmup, size: 64 }, runtimeOf(env, v));
    return withWorkers([cli], async () => {
      await cli.next('ready');
      cli.post({ type: 'go' });
      await cli.next('measuring', 60_000);
      srv.post({ type: 'start' });
      const r = await cli.next('result', 120_000);
      srv.post({ type: 'report' });
      const s = await srv.next('report');
      const n = mode.pingCount;
      return {
        p50: r.p50,
        p99: r.p99,
        lost: r.lost,
        clientCpuUs: r.cpuMicros / n,
        serverCpuUs: s.cpuMicros / n,
        clientLoopP99: r.loop.p99,
        serverLoopP99: s.loop.p99,
      };
    });
  });
}

// ---------------------------------------------------------------------------
// The figures. Each scenario runs every variant once per repetition and
// yields samples for its metrics; a metric's rows compare each variant with
// its baseline (`vs`, else the scenario's first variant, node:dgram).

const target = (kind, value) => ({ kind, value });
/** A figure a scenario yields: `pick` takes it from one run's raw result; `targets` by variant id. */
const metric = (id, title, unit, better, pick, targets = {}) => ({ id, title, unit, better, pick, targets });
const NODE = { id: 'node', impl: 'node', label: 'node:dgram' };
const BUN = { id: 'bun', impl: 'node', runtime: 'bun', label: 'Bun node:dgram' };
const KIT = { id: 'udpkit', impl: 'udpkit', label: 'udpkit' };

function scenarios(env) {
  const bun = (v) => (env.bun ? [{ ...BUN, ...v, id: 'bun', runtime: 'bun', impl: 'node' }] : []);
  const who = env.loadgen
    ? `${ORDINARY.procs} sender processes × ${ORDINARY.sockets} ports, sendmmsg of ${ORDINARY.batch}, no GSO`
    : `${ORDINARY.procs} Node sender processes × ${ORDINARY.sockets} ports, batches of ${ORDINARY.batch}, no GSO`;
  const rateK = `${OFFERED_RATE / 1000}k/s`;
  const list = [];
  const recvVariants = [
    { ...NODE, api: 'message', label: "node:dgram 'message'" },
    { ...KIT, id: 'kit-msg', api: 'message', label: "udpkit 'message'" },
    { ...KIT, id: 'kit-batch', api: 'messages', label: "udpkit 'messages'" },
    { ...KIT, id: 'kit-nocoal', api: 'message', label: "udpkit, coalescing off", env: { UDPKIT_RX_COALESCE_US: '0' } },
    ...bun({ api: 'message', label: "Bun node:dgram 'message'" }),
  ];
  list.push({
    id: 'recv-64',
    section: `Receive from ordinary senders (${who})`,
    title: `receive 64 B at ${rateK}`,
    variants: recvVariants,
    run: (mode, v) => runRecv(env, mode, v, { size: 64, rate: OFFERED_RATE }),
    metrics: [
      metric('recv-cpu-64', `receiver CPU per 64 B datagram at ${rateK}`, 'ns', 'lower', (r) => r.cpuPerDgramNs, { 'kit-msg': target('ratio<=', 0.4), 'kit-batch': target('ratio<=', 0.4) }),
      metric('lat-p50', `one-way latency p50 at ${rateK}`, 'µs', 'lower', (r) => r.latP50),
      metric('lat-p99', `one-way latency p99 at ${rateK}`, 'µs', 'lower', (r) => r.latP99),
    ],
  });
  list.push({
    id: 'recv-mixed',
    section: list[0].section,
    title: `receive mixed sizes at ${rateK}`,
    variants: [recvVariants[0], recvVariants[1], ...bun({ api: 'message', label: "Bun node:dgram 'message'" })],
    run: (mode, v) => runRecv(env, mode, v, { sizes: MIXED, rate: OFFERED_RATE }),
    metrics: [
      metric('recv-cpu-mixed', `receiver CPU per datagram, mixed sizes 64–1400 B, at ${rateK}`, 'ns', 'lower', (r) => r.cpuPerDgramNs),
    ],
  });
  list.push({
    id: 'recv-flood',
    section: list[0].section,
    title: 'receive 64 B, senders flat out',
    variants: [recvVariants[0], recvVariants[1], recvVariants[2], ...bun({ api: 'message', label: "Bun node:dgram 'message'" })],
    run: (mode, v) => runRecv(env, mode, v, { size: 64, rate: 0 }),
    metrics: [
      metric('recv-flood-rate', 'receive 64 B, senders flat out', 'datagrams/s', 'higher', (r) => r.rate),
      metric('recv-cap-64', 'receive 64 B capacity (datagrams per receiver CPU-second)', 'datagrams/s', 'higher', (r) => r.capacity),
      metric('recv-rss-64', 'receiver max RSS under a 64 B flood', 'MiB', 'lower', (r) => r.maxRssMiB, { 'kit-msg': target('delta<=', 16), 'kit-batch': target('delta<=', 16) }),
    ],
  });
  list.push({
    id: 'recv-gso',
    section: "udpkit's own GSO sender (runs of one size to one peer leave as one UDP GSO send)",
    title: `receive 64 B from udpkit's GSO sender at ${rateK}`,
    variants: [recvVariants[0], recvVariants[1]],
    run: (mode, v) => runRecv(env, mode, v, { size: 64, rate: OFFERED_RATE, kind: 'gso' }),
    metrics: [
      metric('recv-cpu-gso', `receiver CPU per 64 B datagram at ${rateK}, GSO sender`, 'ns', 'lower', (r) => r.cpuPerDgramNs),
    ],
  });
  list.push({
    id: 'send-gso',
    section: list[3].section,
    title: 'send 64 B to one peer (GSO)',
    variants: [
      { ...NODE, api: 'send', label: 'node:dgram send()' },
      { ...KIT, id: 'kit-send', api: 'send', label: 'udpkit send()' },
    ],
    run: (mode, v) => runSend(env, mode, v, { sizes: [64], dests: 1 }),
    metrics: [
      metric('send-cpu-gso', 'sender CPU per 64 B datagram, one peer (GSO)', 'ns', 'lower', (r) => r.cpuPerDgramNs),
    ],
  });
  const sendVariants = [
    { ...NODE, api: 'send', label: 'node:dgram send()' },
    { ...KIT, id: 'kit-send', api: 'send', label: 'udpkit send()' },
    { ...KIT, id: 'kit-many', api: 'sendMany', label: 'udpkit sendMany()' },
    ...bun({ api: 'send', label: 'Bun node:dgram send()' }),
  ];
  list.push({
    id: 'send-fanout',
    section: 'Send (flat out, 64 per burst, to udpkit sinks in another process)',
    title: `send 64 B to ${FANOUT} peers`,
    variants: sendVariants,
    run: (mode, v) => runSend(env, mode, v, { sizes: [64], dests: FANOUT }),
    metrics: [
      metric('send-cpu-fanout', `sender CPU per 64 B datagram, fan-out to ${FANOUT} peers`, 'ns', 'lower', (r) => r.cpuPerDgramNs, { 'kit-send': target('ratio<=', 0.25), 'kit-many': target('ratio<=', 0.25) }),
    ],
  });
  list.push({
    id: 'send-mixed',
    section: list[list.length - 1].section,
    title: 'send mixed sizes to one peer',
    variants: sendVariants,
    run: (mode, v) => runSend(env, mode, v, { sizes: MIXED, dests: 1 }),
    metrics: [
      metric('send-cpu-mixed', 'sender CPU per datagram, mixed sizes 64–1400 B, one peer', 'ns', 'lower', (r) => r.cpuPerDgramNs, { 'kit-send': target('ratio<=', 0.5), 'kit-many': target('ratio<=', 0.5) }),
    ],
  });
  list.push({
    id: 'pingpong',
    section: 'Ping-pong 64 B (client and echo server in two processes, same impl)',
    title: 'ping-pong 64 B',
    variants: [
      NODE,
      { ...KIT, id: 'kit-poll', label: 'udpkit, reply polling on' },
      { ...KIT, id: 'kit-nopoll', label: 'udpkit, reply polling off', env: { UDPKIT_SPIN_US: '0' } },
      ...bun({}),
    ],
    run: (mode, v) => runPing(env, mode, v),
    metrics: [
      metric('pp-p50', 'round trip p50', 'µs', 'lower', (r) => r.p50, { 'kit-poll': target('ratio<=', 0.25), 'kit-nopoll': target('ratio<=', 0.68) }),
      metric('pp-p99', 'round trip p99', 'µs', 'lower', (r) => r.p99),
      metric('pp-cpu-client', 'client CPU per round trip', 'µs', 'lower', (r) => r.clientCpuUs),
      metric('pp-cpu-server', 'echo server CPU per round trip', 'µs', 'lower', (r) => r.serverCpuUs),
      metric('pp-loop-client', "client's event-loop delay p99 (timers)", 'ms', 'lower', (r) => r.clientLoopP99 / 1000),
      metric('pp-loop-server', "echo server's event-loop delay p99 (timers)", 'ms', 'lower', (r) => r.serverLoopP99 / 1000),
    ],
  });
  const nodeReusePort = env.nodeReusePort
    ? [{ ...NODE, id: 'node-rp2', procs: 2, reusePort: true, label: 'node:dgram reusePort ×2', vs: 'node-c2' }]
    : [];
  list.push({
    id: 'scale',
    section: `More cores: 64 B from ordinary senders flat out, receivers on one port (${env.cores} cores in all)`,
    title: 'receivers on one port',
    variants: [
      { ...NODE, id: 'node-1', label: 'node:dgram ×1' },
      { ...KIT, id: 'kit-1', label: 'udpkit ×1', vs: 'node-1' },
      { ...NODE, id: 'node-c2', procs: 2, label: 'node:dgram cluster ×2', vs: 'node-1' },
      { ...KIT, id: 'kit-c2', procs: 2, label: 'udpkit cluster ×2', vs: 'node-c2' },
      ...nodeReusePort,
      { ...KIT, id: 'kit-rp2', procs: 2, reusePort: true, label: 'udpkit reusePort ×2', vs: env.nodeReusePort ? 'node-rp2' : 'node-c2' },
    ],
    run: (mode, v) => runRecv(env, mode, v, { size: 64, rate: 0 }),
    metrics: [
      metric('scale-rate', 'datagrams received per second', 'datagrams/s', 'higher', (r) => r.rate),
      metric('scale-cap', 'datagrams per receiver CPU-second (all processes)', 'datagrams/s', 'higher', (r) => r.capacity),
    ],
  });
  return list;
}

function median(xs) {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
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
  if (t.kind === 'delta<=') return `≤ +${t.value} MiB`;
  return '';
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

function machineFacts(env) {
  const cpus = os.cpus();
  return {
    cpu: cpus[0] ? cpus[0].model.trim() : 'unknown',
    cores: cpus.length,
    node: process.version,
    bun: env.bun ? env.bun.version : null,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    loadAverage: os.loadavg().map((x) => +x.toFixed(2)),
    date: new Date().toISOString(),
  };
}

/** Node's dgram has reusePort from 22.12 / 23.1. */
function nodeHasReusePort() {
  const [maj, min] = process.versions.node.split('.').map(Number);
  return maj > 23 || (maj === 23 && min >= 1) || (maj === 22 && min >= 12);
}

/**
 * Runs the benchmark.
 * @param {{ quick?: boolean, only?: string[], onProgress?: (done: number, total: number, what: string) => void }} options
 */
async function run(options = {}) {
  const modeName = options.quick ? 'quick' : 'full';
  const mode = MODES[modeName];
  const onProgress = options.onProgress || (() => {});
  const notes = [];
  const lg = buildLoadgen();
  const env = { loadgen: lg.bin, bun: findBun(), cores: os.cpus().length, nodeReusePort: nodeHasReusePort() };
  if (!lg.bin) notes.push(`no C compiler for native/tools/loadgen.c (${lg.why}): the ordinary senders were Node processes sending udpkit sendMany batches with UDPKIT_OFFLOAD=0, paced per 1 ms tick`);
  if (!env.bun) notes.push('no Bun binary found (UDPKIT_BENCH_BUN, node_modules/@oven/bun-linux-x64, or bun on PATH): no Bun column');
  let list = scenarios(env);
  if (options.only && options.only.length) list = list.filter((s) => options.only.some((o) => s.id.startsWith(o)));
  const total = list.reduce((n, s) => n + s.variants.length, 0) * mode.reps;
  let done = 0;
  const samples = new Map(); // `${metric.id}|${variant.id}` -> number[]
  const raw = [];
  const started = Date.now();
  const load0 = os.loadavg()[0];
  for (let rep = 0; rep < mode.reps; rep++) {
    for (const sc of list) {
      const variants = rep % 2 ? [...sc.variants].reverse() : sc.variants;
      for (const v of variants) {
        onProgress(done, total, `${sc.title}: ${v.label} (rep ${rep + 1}/${mode.reps})`);
        let r;
        try {
          r = await sc.run(mode, v);
        } catch (e) {
          r = { error: String(e.message || e) };
          notes.push(`${sc.title}, ${v.label}, rep ${rep + 1}: ${r.error}`);
        }
        raw.push({ scenario: sc.id, variant: v.id, rep, ...r });
        for (const m of sc.metrics) {
          const key = `${m.id}|${v.id}`;
          if (!samples.has(key)) samples.set(key, []);
          samples.get(key).push(r.error ? NaN : m.pick(r));
        }
        done++;
      }
    }
  }
  onProgress(done, total, 'done');
  const rows = [];
  for (const sc of list) {
    for (const m of sc.metrics) {
      const med = (id) => median(samples.get(`${m.id}|${id}`) || []);
      const bunMed = sc.variants.some((v) => v.id === 'bun') ? med('bun') : NaN;
      for (const v of sc.variants) {
        const xs = samples.get(`${m.id}|${v.id}`);
        const base = sc.variants.find((b) => b.id === (v.vs || sc.variants[0].id));
        const isBase = base === v;
        const value = med(v.id);
        const baseValue = med(base.id);
        const ratio = isBase ? 1 : value / baseValue;
        const t = isBase ? null : m.targets[v.id] || null;
        const aheadOfBun =
          v.impl === 'udpkit' && Number.isFinite(bunMed) && Number.isFinite(value)
            ? m.better === 'lower' ? value < bunMed : value > bunMed
            : null;
        const finite = xs.filter(Number.isFinite);
        rows.push({
          scenario: sc.id,
          section: sc.section,
          metric: m.id,
          title: m.title,
          unit: m.unit,
          better: m.better,
          variant: v.label,
          variantId: v.id,
          impl: v.runtime === 'bun' ? 'bun' : v.impl,
          baseline: isBase,
          vs: base.label,
          vsFirst: base === sc.variants[0],
          samples: xs,
          median: value,
          min: finite.length ? Math.min(...finite) : NaN,
          max: finite.length ? Math.max(...finite) : NaN,
          ratio,
          delta: value - baseValue,
          target: t ? targetText(t) : '',
          targetSpec: t,
          pass: judge(t, ratio, value - baseValue),
          aheadOfBun,
        });
      }
    }
  }
  const results = {
    mode: modeName,
    settings: {
      ...mode,
      recvBufferSize: RCVBUF,
      offeredRate: OFFERED_RATE,
      ordinary: ORDINARY,
      mixedSizes: MIXED,
      fanout: FANOUT,
      generator: lg.bin ? 'native/tools/loadgen.c (sendmmsg)' : 'Node (udpkit sendMany, UDPKIT_OFFLOAD=0)',
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('UDPKIT_'))),
    },
    machine: { ...machineFacts(env), loadAverageAtStart: +load0.toFixed(2) },
    durationS: (Date.now() - started) / 1000,
    notes: render.mergeNotes(notes, mode.reps),
    rows,
    raw,
  };
  results.notes.push(...render.derivedNotes(results));
  return results;
}

// ---------------------------------------------------------------------------
// Output files

function writeOutputs(results, { json, docs }) {
  // A quick run must not replace the committed full results.
  const jsonPath = json || path.join(ROOT, 'bench', 'results', results.mode === 'quick' ? 'tmp-quick.json' : 'latest.json');
  fs.mkdirSync(path.dirname(jsonPath), { recursive: true });
  fs.writeFileSync(jsonPath, JSON.stringify(results, null, 2) + '\n');
  const written = [jsonPath];
  if (docs) {
    const d = path.join(ROOT, 'docs');
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, 'benchmarks.md'), render.markdown(results));
    fs.writeFileSync(path.join(d, 'bench-ratios.svg'), render.svg(results));
    written.push(path.join(d, 'benchmarks.md'), path.join(d, 'bench-ratios.svg'));
    if (updateReadme(results)) written.push(path.join(ROOT, 'README.md'));
  }
  return written;
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
  fs.writeFileSync(file, `${text.slice(0, a + start.length)}\n${render.readmeTable(results)}\n${text.slice(b)}`);
  return true;
}

module.exports = {
  run,
  checkUdpkit,
  udpkitDist,
  writeOutputs,
  updateReadme,
  textTable: render.textTable,
  markdown: render.markdown,
  svg: render.svg,
  MODES,
  runRecv,
  runSend,
  runPing,
  findBun,
  buildLoadgen,
};
