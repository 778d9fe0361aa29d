'use strict';
// One benchmark process: `node bench/worker.js '<json config>'` (or the same
// under Bun), started by bench/run.js. It talks to the parent in JSON lines:
// commands on stdin, replies on stdout; it exits when stdin closes. Plain
// pipes rather than an IPC channel, so that Node and Bun run it alike.
// Roles:
//   recv   - a receiver under test ('message' or 'messages'); counts, times
//            itself, samples its RSS and one-way latency, reports CPU use;
//            with `procs` it is a cluster primary whose workers receive
//   gen    - the Node load generator, used when there is no C compiler for
//            native/tools/loadgen.c: plain batches, no offload
//   send   - a sender under test (send() per datagram or sendMany) to one or
//            many destinations, one size or mixed sizes
//   sink   - counting receivers on one or more ports for the send rows
//   echo   - an echo server for ping-pong; reports its CPU and loop delay
//   ping   - the ping-pong client: round trips, CPU, event-loop delay
const path = require('node:path');
const readline = require('node:readline');

const cfg = JSON.parse(process.argv[2] || '{}');
const LO = '127.0.0.1';
const LAT_EVERY = 64; // one datagram in 64 is timed: cheap enough not to show in the CPU rows

function loadImpl(name) {
  if (name === 'node') return require('node:dgram');
  const dist = process.env.UDPKIT_DIST || path.resolve(__dirname, '..', 'dist');
  return require(path.join(dist, 'index.js'));
}

function reply(msg) {
  process.stdout.write(JSON.stringify(msg) + '\n');
}

const handlers = [];
function onCommand(fn) {
  handlers.push(fn);
}

function listen() {
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    let m;
    try {
      m = JSON.parse(line);
    } catch {
      return;
    }
    if (m.type === 'exit') process.exit(0);
    for (const h of handlers) h(m);
  });
  rl.on('close', () => process.exit(0));
}

function cpuSplit(start) {
  const u = process.cpuUsage(start);
  return { cpuMicros: u.user + u.system, userMicros: u.user, sysMicros: u.system };
}

const nowNs = () => process.hrtime.bigint();
const nowMs = () => Number(nowNs()) / 1e6;
// Wall-clock microseconds, for the send stamps in payloads: hrtime's origin
// differs between runtimes (Node: CLOCK_MONOTONIC, Bun: its own), the wall
// clock is the same for every process.
const { performance } = require('node:perf_hooks');
const wallUs = () => (performance.timeOrigin + performance.now()) * 1000;

function bindSocket(dgram, opts, port = 0) {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket({ type: 'udp4', ...opts });
    s.once('error', reject);
    s.bind(port, LO, () => {
      s.removeListener('error', reject);
      resolve(s);
    });
  });
}

/** The event-loop delay histogram, where the runtime has one. */
function loopDelay() {
  try {
    const h = require('node:perf_hooks').monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    return {
      reset: () => h.reset(),
      read: () => ({ p50: h.percentile(50) / 1000, p99: h.percentile(99) / 1000, max: h.max / 1000 }),
    };
  } catch {
    return { reset() {}, read: () => ({ p50: NaN, p99: NaN, max: NaN }) };
  }
}

function percentiles(values, n) {
  const sorted = Array.from(values.subarray(0, n)).sort((a, b) => a - b);
  const pct = (p) => (n === 0 ? NaN : sorted[Math.min(n - 1, Math.floor((p / 100) * n))]);
  return { p50: pct(50), p99: pct(99) };
}

// --- recv -----------------------------------------------------------------
// A receiving socket with its counters. Latency: the generator stamps each
// payload with its CLOCK_REALTIME send time in nanoseconds.
async function receiver(port) {
  const dgram = loadImpl(cfg.impl);
  const opts = { recvBufferSize: cfg.recvBufferSize };
  if (cfg.reusePort) opts.reusePort = true;
  const s = await bindSocket(dgram, opts, port);
  s.on('error', () => {});
  const st = { count: 0, lat: new Float64Array(1 << 16), nlat: 0, timing: false };
  const stamp = (msg) => {
    if (st.timing && msg.length >= 8 && st.nlat < st.lat.length) {
      st.lat[st.nlat++] = wallUs() - Number(msg.readBigUInt64LE(0)) / 1000;
    }
  };
  if (cfg.api === 'messages') {
    s.on('messages', (batch) => {
      // The same datagrams as the 'message' listener times: every 64th.
      const i = LAT_EVERY - 1 - (st.count & (LAT_EVERY - 1));
      if (i < batch.length) stamp(batch[i].data);
      st.count += batch.length;
    });
  } else {
    s.on('message', (msg) => {
      if ((++st.count & (LAT_EVERY - 1)) === 0) stamp(msg);
    });
  }
  return { socket: s, st };
}

/** Measures one window in this process: count, CPU, RSS, latency. */
function measureWindow(st, m, done) {
  let maxRss = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    const r = process.memoryUsage.rss();
    if (r > maxRss) maxRss = r;
  }, 50);
  setTimeout(() => {
    const c0 = st.count;
    const cpu0 = process.cpuUsage();
    const t0 = nowMs();
    st.nlat = 0;
    st.timing = true;
    setTimeout(() => {
      st.timing = false;
      const n = st.count - c0;
      const cpu = cpuSplit(cpu0);
      const ms = nowMs() - t0;
      clearInterval(sampler);
      const r = process.memoryUsage.rss();
      if (r > maxRss) maxRss = r;
      done({ count: n, ...cpu, elapsedMs: ms, maxRss, lat: percentiles(st.lat, st.nlat) });
    }, m.windowMs);
  }, m.warmupMs);
}

async function recv() {
  if (cfg.procs) return recvCluster();
  const { st, socket } = await receiver(0);
  onCommand((m) => {
    if (m.type === 'go') measureWindow(st, m, (r) => reply({ type: 'result', ...r }));
  });
  listen();
  reply({ type: 'ready', port: socket.address().port });
}

// Several receiving processes on one port: cluster workers sharing the
// primary's socket, or (reusePort) each with a socket of its own. The
// primary only coordinates; what it reports is the workers' sum.
async function recvCluster() {
  const cluster = require('node:cluster');
  if (cluster.isWorker) {
    const { st, socket } = await receiver(cfg.port);
    process.on('message', (m) => {
      if (m && m.type === 'go') measureWindow(st, m, (r) => process.send({ type: 'result', ...r }));
    });
    process.send({ type: 'ready', port: socket.address().port });
    return;
  }
  // The port: picked here, then bound by every worker (reusePort needs all
  // binds to ask for it; cluster sharing needs no one else to hold it).
  const port = await new Promise((resolve) => {
    const probe = require('node:dgram').createSocket('udp4');
    probe.bind(0, LO, () => {
      const p = probe.address().port;
      probe.close(() => resolve(p));
    });
  });
  cluster.setupPrimary({ exec: __filename, args: [JSON.stringify({ ...cfg, port })], silent: false });
  const workers = [];
  for (let i = 0; i < cfg.procs; i++) workers.push(cluster.fork());
  await Promise.all(
    workers.map((w) => new Promise((resolve) => w.on('message', (m) => m && m.type === 'ready' && resolve()))),
  );
  onCommand((m) => {
    if (m.type !== 'go') return;
    Promise.all(workers.map((w) => new Promise((resolve) => {
      w.on('message', (r) => r && r.type === 'result' && resolve(r));
      w.send(m);
    }))).then((rs) => {
      const sum = (k) => rs.reduce((a, r) => a + r[k], 0);
      reply({
        type: 'result',
        count: sum('count'),
        cpuMicros: sum('cpuMicros'),
        userMicros: sum('userMicros'),
        sysMicros: sum('sysMicros'),
        elapsedMs: Math.max(...rs.map((r) => r.elapsedMs)),
        maxRss: Math.max(...rs.map((r) => r.maxRss)),
        perProcess: rs.map((r) => r.count),
        lat: rs[0].lat,
      });
    });
  });
  process.on('exit', () => workers.forEach((w) => w.process.kill()));
  listen();
  reply({ type: 'ready', port });
}

// --- gen (fallback load generator) -----------------------------------------
// Used only without a C compiler: udpkit with offload off (UDPKIT_OFFLOAD=0
// in its environment) sends plain sendmmsg batches, or node:dgram if udpkit
// does not load. Paced per 1 ms timer tick, coarser than the C generator.
async function gen() {
  let dgram;
  let impl = 'udpkit';
  try {
    dgram = loadImpl('udpkit');
  } catch {
    dgram = require('node:dgram');
    impl = 'node';
  }
  const sockets = [];
  for (let i = 0; i < cfg.sockets; i++) {
    const s = await bindSocket(dgram, { sendBufferSize: 1 << 20 });
    s.on('error', () => {});
    sockets.push(s);
  }
  const sizes = cfg.sizes;
  let turn = 0;
  let k = 0;
  function burst(n, cb) {
    const s = sockets[turn];
    turn = (turn + 1) % sockets.length;
    const list = [];
    const t = BigInt(Math.round(wallUs() * 1000));
    for (let i = 0; i < n; i++) {
      const b = Buffer.alloc(sizes[k++ % sizes.length], 0x61);
      if (b.length >= 8) b.writeBigUInt64LE(t, 0);
      list.push({ data: b, port: cfg.port, address: LO });
    }
    if (impl === 'udpkit') s.sendMany(list, () => cb());
    else {
      for (let i = 0; i < n - 1; i++) s.send(list[i].data, cfg.port, LO);
      s.send(list[n - 1].data, cfg.port, LO, () => cb());
    }
  }
  let stopped = false;
  let sent = 0;
  onCommand((m) => {
    if (m.type === 'stop') {
      stopped = true;
      reply({ type: 'stopped', sent });
    }
  });
  listen();
  const B = cfg.batch;
  if (!cfg.rate) {
    let rounds = 0;
    const pump = () => {
      if (stopped) return;
      burst(B, () => {
        sent += B;
        if (++rounds % 16 === 0) setImmediate(pump);
        else pump();
      });
    };
    pump();
  } else {
    const t0 = nowMs();
    let busy = false;
    const tick = () => {
      if (stopped) return;
      setTimeout(tick, 1);
      if (busy) return;
      let due = Math.floor(((nowMs() - t0) * cfg.rate) / 1000) - sent;
      if (due > cfg.rate / 250) {
        sent += due - Math.ceil(cfg.rate / 250);
        due = Math.ceil(cfg.rate / 250);
      }
      if (due < B) return;
      busy = true;
      const step = () => {
        if (due < B || stopped) return void (busy = false);
        due -= B;
        sent += B;
        burst(B, step);
      };
      step();
    };
    tick();
  }
  reply({ type: 'ready', generator: impl });
}

// --- send -----------------------------------------------------------------
async function sender() {
  const dgram = loadImpl(cfg.impl);
  const s = await bindSocket(dgram, { sendBufferSize: 4 << 20 });
  s.on('error', () => {});
  const BATCH = 64;
  const sizes = cfg.sizes;
  const ports = cfg.ports;
  // One fixed list of BATCH datagrams, sent again and again: destinations
  // in turn, sizes in turn (payloads allocated once, as a server would
  // reuse its buffers).
  const list = [];
  for (let i = 0; i < BATCH; i++) {
    list.push({ data: Buffer.alloc(sizes[i % sizes.length], 0x62), port: ports[i % ports.length], address: LO });
  }
  let count = 0;
  let running = true;
  let rounds = 0;
  const next = () => {
    if (!running) return;
    if (++rounds % 16 === 0) setImmediate(pump);
    else pump();
  };
  const pump =
    cfg.api === 'sendMany'
      ? () =>
          s.sendMany(list, (err, sent) => {
            count += sent;
            next();
          })
      : () => {
          for (let i = 0; i < BATCH - 1; i++) s.send(list[i].data, list[i].port, LO);
          s.send(list[BATCH - 1].data, list[BATCH - 1].port, LO, () => {
            count += BATCH;
            next();
          });
        };
  onCommand((m) => {
    if (m.type !== 'go') return;
    pump();
    setTimeout(() => {
      const c0 = count;
      const cpu0 = process.cpuUsage();
      const t0 = nowMs();
      setTimeout(() => {
        const n = count - c0;
        const cpu = cpuSplit(cpu0);
        const ms = nowMs() - t0;
        running = false;
        reply({ type: 'result', count: n, ...cpu, elapsedMs: ms });
      }, m.windowMs);
    }, m.warmupMs);
  });
  listen();
  reply({ type: 'ready' });
}

// --- sink -----------------------------------------------------------------
async function sink() {
  let dgram;
  try {
    dgram = loadImpl('udpkit');
  } catch {
    dgram = require('node:dgram');
  }
  let count = 0;
  const ports = [];
  for (let i = 0; i < (cfg.sockets || 1); i++) {
    const s = await bindSocket(dgram, { recvBufferSize: cfg.recvBufferSize });
    s.on('error', () => {});
    if (typeof s.sendMany === 'function') s.on('messages', (b) => (count += b.length));
    else s.on('message', () => count++);
    ports.push(s.address().port);
  }
  onCommand((m) => {
    if (m.type === 'count') reply({ type: 'count', count });
  });
  listen();
  reply({ type: 'ready', ports });
}

// --- echo -----------------------------------------------------------------
async function echo() {
  const dgram = loadImpl(cfg.impl);
  const s = await bindSocket(dgram, {});
  s.on('error', () => {});
  s.on('message', (msg, rinfo) => s.send(msg, rinfo.port, rinfo.address));
  const delay = loopDelay();
  let cpu0 = process.cpuUsage();
  onCommand((m) => {
    if (m.type === 'start') {
      cpu0 = process.cpuUsage();
      delay.reset();
    } else if (m.type === 'report') reply({ type: 'report', ...cpuSplit(cpu0), loop: delay.read() });
  });
  listen();
  reply({ type: 'ready', port: s.address().port });
}

// --- ping -----------------------------------------------------------------
async function ping() {
  const dgram = loadImpl(cfg.impl);
  const s = await bindSocket(dgram, {});
  s.on('error', () => {});
  const payload = Buffer.alloc(cfg.size || 64, 0x70);
  const total = cfg.warmup + cfg.count;
  const rtts = new Float64Array(cfg.count);
  const delay = loopDelay();
  let i = 0;
  let t0 = 0n;
  let lost = 0;
  let timer = null;
  let cpu0 = null;
  const fire = () => {
    t0 = nowNs();
    s.send(payload, cfg.port, LO);
    // A lost datagram (rare on loopback) must not stall the run.
    timer = setTimeout(() => {
      lost++;
      fire();
    }, 1000);
  };
  s.on('message', () => {
    const rtt = Number(nowNs() - t0) / 1000;
    clearTimeout(timer);
    if (i >= cfg.warmup) rtts[i - cfg.warmup] = rtt;
    if (++i === cfg.warmup) {
      cpu0 = process.cpuUsage();
      delay.reset();
      reply({ type: 'measuring' });
    }
    if (i < total) fire();
    else {
      const cpu = cpuSplit(cpu0);
      const p = percentiles(rtts, cfg.count);
      reply({ type: 'result', p50: p.p50, p99: p.p99, lost, ...cpu, loop: delay.read() });
    }
  });
  onCommand((m) => {
    if (m.type === 'go') fire();
  });
  listen();
  reply({ type: 'ready' });
}

const roles = { recv, gen, send: sender, sink, echo, ping };
const role = roles[cfg.role];
if (!role) {
  console.error(`bench worker: unknown role ${cfg.role}`);
  process.exit(2);
}
role().catch((err) => {
  console.error(`bench worker (${cfg.role}/${cfg.impl || ''}):`, err);
  process.exit(1);
});
