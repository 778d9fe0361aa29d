'use strict';
// One benchmark process: `node bench/worker.js '<json config>'`, forked with an
// IPC channel by bench/run.js. Roles:
//   recv   - a receiver under test ('message' or 'messages'); counts, times
//            itself, samples its RSS, reports CPU use per datagram
//   flood  - the load generator (udpkit sendMany, whatever impl is measured),
//            unpaced (saturation) or paced at a fixed rate
//   send   - a sender under test (send() per datagram or sendMany)
//   sink   - a receiver for the send rows that only counts (udpkit batches)
//   echo   - an echo server for ping-pong
//   ping   - the ping-pong client, reports round-trip percentiles
// Every role talks to the parent with process.send({ type, ... }) and exits
// when the parent says { type: 'exit' } or the IPC channel goes away.
const path = require('node:path');

const cfg = JSON.parse(process.argv[2] || '{}');
const LO = '127.0.0.1';

function loadImpl(name) {
  if (name === 'node') return require('node:dgram');
  const dist = process.env.UDPKIT_DIST || path.resolve(__dirname, '..', 'dist');
  return require(path.join(dist, 'index.js'));
}

function send(msg) {
  if (process.connected) process.send(msg);
}

process.on('disconnect', () => process.exit(0));
process.on('message', (m) => {
  if (m && m.type === 'exit') process.exit(0);
});

function cpuMicros(start) {
  const u = process.cpuUsage(start);
  return u.user + u.system;
}

function cpuSplit(start) {
  const u = process.cpuUsage(start);
  return { cpuMicros: u.user + u.system, userMicros: u.user, sysMicros: u.system };
}

function nowMs() {
  return Number(process.hrtime.bigint()) / 1e6;
}

function bindSocket(dgram, opts) {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket({ type: 'udp4', ...opts });
    s.once('error', reject);
    s.bind(0, LO, () => {
      s.removeListener('error', reject);
      resolve(s);
    });
  });
}

// --- recv -----------------------------------------------------------------
async function recv() {
  const dgram = loadImpl(cfg.impl);
  const s = await bindSocket(dgram, { recvBufferSize: cfg.recvBufferSize });
  s.on('error', () => {});
  if (cfg.shared) {
    // Reading the descriptor (to pass it on) makes it shared: one datagram per read from then on.
    process.noDeprecation = true;
    if (!(s._handle.fd > 0)) throw new Error('no descriptor');
  }
  let count = 0;
  if (cfg.api === 'messages') s.on('messages', (batch) => (count += batch.length));
  else s.on('message', () => count++);
  let maxRss = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    const r = process.memoryUsage.rss();
    if (r > maxRss) maxRss = r;
  }, 50);
  process.on('message', (m) => {
    if (!m || m.type !== 'go') return;
    setTimeout(() => {
      const c0 = count;
      const cpu0 = process.cpuUsage();
      const t0 = nowMs();
      maxRss = process.memoryUsage.rss();
      setTimeout(() => {
        const n = count - c0;
        const cpu = cpuSplit(cpu0);
        const ms = nowMs() - t0;
        clearInterval(sampler);
        const r = process.memoryUsage.rss();
        if (r > maxRss) maxRss = r;
        let drops = -1;
        try {
          if (typeof s.getRecvDropCount === 'function') drops = s.getRecvDropCount();
        } catch {}
        send({ type: 'result', count: n, ...cpu, elapsedMs: ms, maxRss, drops });
      }, m.windowMs);
    }, m.warmupMs);
  });
  send({ type: 'ready', port: s.address().port });
}

// --- flood ----------------------------------------------------------------
async function flood() {
  let dgram;
  let genImpl = 'udpkit';
  try {
    dgram = loadImpl('udpkit');
  } catch {
    dgram = require('node:dgram');
    genImpl = 'node';
  }
  const s = await bindSocket(dgram, { sendBufferSize: 4 << 20 });
  s.on('error', () => {});
  const payload = Buffer.alloc(cfg.size, 0x61);
  const BATCH = 64;
  const list = [];
  for (let i = 0; i < BATCH; i++) list.push({ data: payload, port: cfg.port, address: LO });
  const many = genImpl === 'udpkit' && typeof s.sendMany === 'function';
  // Sends n datagrams; resolves when handed to the kernel.
  function burst(n, cb) {
    if (many) {
      s.sendMany(n === BATCH ? list : list.slice(0, n), () => cb());
    } else {
      for (let i = 0; i < n - 1; i++) s.send(payload, cfg.port, LO);
      s.send(payload, cfg.port, LO, () => cb());
    }
  }
  let stopped = false;
  process.on('message', (m) => {
    if (m && m.type === 'stop') stopped = true;
  });
  if (!cfg.rate) {
    // Saturation: back-to-back bursts, yielding to the loop now and then.
    let rounds = 0;
    const pump = () => {
      if (stopped) return;
      burst(BATCH, () => {
        if (++rounds % 16 === 0) setImmediate(pump);
        else pump();
      });
    };
    pump();
  } else {
    // Paced: every timer tick, send what is due at `rate` since the start
    // (in bursts of <= 64), never more than 4 ms worth at once.
    const t0 = nowMs();
    let sent = 0;
    let busy = false;
    const tick = () => {
      if (stopped) return;
      setTimeout(tick, 1);
      if (busy) return;
      const due = Math.floor(((nowMs() - t0) * cfg.rate) / 1000) - sent;
      if (due <= 0) return;
      let n = Math.min(due, Math.ceil(cfg.rate / 250));
      if (due > n) sent += due - n; // skip what we could not keep up with
      busy = true;
      const step = () => {
        if (n <= 0) {
          busy = false;
          return;
        }
        const k = Math.min(n, BATCH);
        n -= k;
        sent += k;
        burst(k, step);
      };
      step();
    };
    tick();
  }
  send({ type: 'ready', generator: genImpl });
}

// --- send -----------------------------------------------------------------
async function sender() {
  const dgram = loadImpl(cfg.impl);
  const s = await bindSocket(dgram, { sendBufferSize: 4 << 20 });
  s.on('error', () => {});
  const payload = Buffer.alloc(cfg.size, 0x62);
  const BATCH = 64;
  const list = [];
  for (let i = 0; i < BATCH; i++) list.push({ data: payload, port: cfg.port, address: LO });
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
          for (let i = 0; i < BATCH - 1; i++) s.send(payload, cfg.port, LO);
          s.send(payload, cfg.port, LO, () => {
            count += BATCH;
            next();
          });
        };
  process.on('message', (m) => {
    if (!m || m.type !== 'go') return;
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
        send({ type: 'result', count: n, ...cpu, elapsedMs: ms });
      }, m.windowMs);
    }, m.warmupMs);
  });
  send({ type: 'ready' });
}

// --- sink -----------------------------------------------------------------
async function sink() {
  let dgram;
  try {
    dgram = loadImpl('udpkit');
  } catch {
    dgram = require('node:dgram');
  }
  const s = await bindSocket(dgram, { recvBufferSize: cfg.recvBufferSize });
  s.on('error', () => {});
  let count = 0;
  if (cfg.mode === 'closed') {
    // A bound socket that never reads: its buffer fills, the kernel drops.
    if (typeof s.pauseReceiving === 'function') s.pauseReceiving();
  } else if (s.listenerCount && typeof s.sendMany === 'function') {
    s.on('messages', (b) => (count += b.length));
  } else {
    s.on('message', () => count++);
  }
  process.on('message', (m) => {
    if (m && m.type === 'count') send({ type: 'count', count });
  });
  send({ type: 'ready', port: s.address().port });
}

// --- echo -----------------------------------------------------------------
async function echo() {
  const dgram = loadImpl(cfg.impl);
  const s = await bindSocket(dgram, {});
  s.on('error', () => {});
  s.on('message', (msg, rinfo) => s.send(msg, rinfo.port, rinfo.address));
  send({ type: 'ready', port: s.address().port });
}

// --- ping -----------------------------------------------------------------
async function ping() {
  const dgram = loadImpl(cfg.impl);
  const s = await bindSocket(dgram, {});
  s.on('error', () => {});
  const payload = Buffer.alloc(cfg.size || 64, 0x70);
  const total = cfg.warmup + cfg.count;
  const rtts = new Float64Array(cfg.count);
  let i = 0;
  let t0 = 0n;
  let lost = 0;
  let timer = null;
  const fire = () => {
    t0 = process.hrtime.bigint();
    s.send(payload, cfg.port, LO);
    // A lost datagram (rare on loopback) must not stall the run.
    timer = setTimeout(() => {
      lost++;
      fire();
    }, 1000);
  };
  s.on('message', () => {
    const rtt = Number(process.hrtime.bigint() - t0) / 1000;
    clearTimeout(timer);
    if (i >= cfg.warmup) rtts[i - cfg.warmup] = rtt;
    if (++i < total) fire();
    else {
      const sorted = Array.from(rtts).sort((a, b) => a - b);
      const pct = (p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
      send({ type: 'result', p50: pct(50), p99: pct(99), min: sorted[0], max: sorted[sorted.length - 1], lost });
    }
  });
  process.on('message', (m) => {
    if (m && m.type === 'go') fire();
  });
  send({ type: 'ready' });
}

const roles = { recv, flood, send: sender, sink, echo, ping };
const role = roles[cfg.role];
if (!role) {
  console.error(`bench worker: unknown role ${cfg.role}`);
  process.exit(2);
}
role().catch((err) => {
  console.error(`bench worker (${cfg.role}/${cfg.impl || ''}):`, err);
  process.exit(1);
});
