#!/usr/bin/env node
'use strict';
// Soak: many datagrams through a udpkit echo pair, then many sockets
// created/bound/closed, sampling RSS and the descriptor count along the way.
// Loopback only. Exits 1 if RSS grows beyond --rss-limit MiB over the
// post-warm-up baseline, or if descriptors leak, or a phase stalls.
//
//   node scripts/soak.js [--datagrams 10000000] [--sockets 100000] [--batch 256]
//                        [--window 8] [--rss-limit 64] [--json out.json]
const fs = require('node:fs');
const path = require('node:path');
const v8 = require('node:v8');
const vm = require('node:vm');
const { parseArgs } = require('node:util');

const { values: opt } = parseArgs({
  options: {
    datagrams: { type: 'string', default: '10000000' },
    sockets: { type: 'string', default: '100000' },
    batch: { type: 'string', default: '256' },
    window: { type: 'string', default: '8' },
    'rss-limit': { type: 'string', default: '64' },
    json: { type: 'string' },
  },
});
const TOTAL = Number(opt.datagrams);
const SOCKETS = Number(opt.sockets);
const BATCH = Number(opt.batch);
const WINDOW = Number(opt.window); // batches in flight
const RSS_LIMIT = Number(opt['rss-limit']) * 1024 * 1024;

const dgram = require(path.resolve(__dirname, '..', 'dist', 'index.js'));

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

function fdList() {
  return fs.readdirSync('/proc/self/fd').map((f) => { try { return `${f}->${fs.readlinkSync(`/proc/self/fd/${f}`)}`; } catch { return f; } });
}
function fdCount() { return fs.readdirSync('/proc/self/fd').length; }
// The first write to a piped stdout makes node open /dev/null once; do it
// before the first count so that it is not mistaken for a leak.
console.log(`soak: ${TOTAL} echoed datagrams (batches of ${BATCH}, ${WINDOW} in flight), ${SOCKETS} sockets`);
const startFds = fdList();
const samples = [];
function sample(label) {
  gc(); gc();
  const s = { label, rssMiB: +(process.memoryUsage().rss / 1048576).toFixed(1), heapMiB: +(process.memoryUsage().heapUsed / 1048576).toFixed(1), fds: fdCount(), t: +((Date.now() - t0) / 1000).toFixed(1) };
  samples.push(s);
  console.log(`[${s.t}s] ${label}: rss ${s.rssMiB} MiB, heap ${s.heapMiB} MiB, fds ${s.fds}`);
  return s;
}
const t0 = Date.now();

function once(emitter, ev) { return new Promise((res, rej) => { emitter.once(ev, res); if (ev !== 'error') emitter.once('error', rej); }); }

// ---- phase 1: echo pair ---------------------------------------------------
async function echoPhase(total, label) {
  const server = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
  const client = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
  server.bind(0, '127.0.0.1'); await once(server, 'listening');
  client.bind(0, '127.0.0.1'); await once(client, 'listening');
  const sport = server.address().port;
  let echoed = 0; let echoErrors = 0;
  server.on('messages', (batch) => {
    const out = new Array(batch.length);
    for (let i = 0; i < batch.length; i++) out[i] = { data: batch[i].data, port: batch[i].port, address: batch[i].address };
    echoed += batch.length;
    server.sendMany(out, (err) => { if (err) echoErrors++; });
  });
  server.on('message', () => {}); // 'messages' alone is enough, but keep the ordinary path exercised

  let sent = 0; let received = 0; let sendErrors = 0; let lost = 0; let bytesBack = 0;
  const payloads = [];
  for (let i = 0; i < BATCH; i++) { const b = Buffer.alloc(64 + (i % 64)); b.writeUInt32LE(i, 0); payloads.push(b); }
  const list = payloads.map((data) => ({ data, port: sport, address: '127.0.0.1' }));
  let outstanding = 0; // datagrams sent whose echo has not come back
  let resolveDone;
  const done = new Promise((r) => { resolveDone = r; });
  client.on('messages', (batch) => {
    received += batch.length; outstanding -= batch.length;
    for (const d of batch) bytesBack += d.size;
    pump();
  });
  client.on('message', () => {});
  let lastProgress = Date.now(); let lastReceived = 0;
  // A safety net for lost datagrams (loopback may drop under overload): if no
  // echo came back for 250 ms, count the in-flight ones lost and go on.
  const watchdog = setInterval(() => {
    if (received !== lastReceived) { lastReceived = received; lastProgress = Date.now(); return; }
    if (Date.now() - lastProgress > 250 && outstanding > 0) { lost += outstanding; outstanding = 0; lastProgress = Date.now(); pump(); }
    if (Date.now() - lastProgress > 30000) { console.error('stalled'); process.exit(1); }
  }, 50);
  const half = Math.floor(total / 2); let halfSampled = false;
  function pump() {
    while (outstanding <= (WINDOW - 1) * BATCH && sent < total) {
      const n = Math.min(BATCH, total - sent);
      const batch = n === BATCH ? list : list.slice(0, n);
      sent += n; outstanding += n;
      client.sendMany(batch, (err) => { if (err) sendErrors++; });
      if (!halfSampled && sent >= half) { halfSampled = true; setImmediate(() => sample(`${label}: echo ${half} of ${total}`)); }
    }
    if (sent >= total && outstanding <= 0) resolveDone();
  }
  pump();
  await done;
  clearInterval(watchdog);
  await Promise.all([new Promise((r) => client.close(r)), new Promise((r) => server.close(r))]);
  return { sent, received, echoed, lost, sendErrors, echoErrors, bytesBack };
}

// ---- phase 2: socket churn -------------------------------------------------
async function churnPhase(total, label) {
  const PAR = 100;
  let made = 0; let errors = 0;
  const half = Math.floor(total / 2);
  while (made < total) {
    const n = Math.min(PAR, total - made);
    const round = [];
    for (let i = 0; i < n; i++) {
      const type = (made + i) % 4 === 3 ? 'udp6' : 'udp4';
      round.push(new Promise((resolve) => {
        const s = dgram.createSocket(type);
        s.on('error', () => { errors++; try { s.close(resolve); } catch { resolve(); } });
        s.bind(0, type === 'udp4' ? '127.0.0.1' : '::1', () => {
          // every fourth one also sends to itself before closing
          if ((made + i) % 4 === 0) s.send('x', s.address().port, '127.0.0.1');
          s.close(resolve);
        });
      }));
    }
    await Promise.all(round);
    // Yield to the event loop once per round, as any real program does: bind
    // and close complete on process.nextTick in udpkit, so a loop that only
    // awaits them never reaches the loop's check phase, where Node-API runs
    // the finalizers of collected native sockets — memory would pile up
    // until the loop turns (see docs/reliability.md).
    await new Promise(setImmediate);
    made += n;
    if (made === half) sample(`${label}: sockets ${half} of ${total}`);
  }
  return { sockets: made, errors };
}

(async () => {
  const start = sample('start');
  // warm-up: JIT, allocator pools, receive buffers
  await echoPhase(Math.min(200000, TOTAL), 'warm-up');
  await churnPhase(Math.min(2000, SOCKETS), 'warm-up');
  const base = sample('baseline (after warm-up)');
  const te = Date.now();
  const echo = await echoPhase(TOTAL, 'soak');
  const echoSecs = (Date.now() - te) / 1000;
  sample('after echo');
  const tc = Date.now();
  const churn = await churnPhase(SOCKETS, 'soak');
  const churnSecs = (Date.now() - tc) / 1000;
  const end = sample('end');
  const growth = (end.rssMiB - base.rssMiB);
  const fdLeak = end.fds - start.fds;
  const summary = {
    node: process.version,
    datagramsRequested: TOTAL, echo, echoSeconds: +echoSecs.toFixed(1),
    roundTripsPerSecond: Math.round(echo.received / echoSecs),
    churn, churnSeconds: +churnSecs.toFixed(1),
    rssStartMiB: start.rssMiB, rssBaselineMiB: base.rssMiB, rssEndMiB: end.rssMiB, rssGrowthMiB: +growth.toFixed(1),
    fdsStart: start.fds, fdsEnd: end.fds, samples,
  };
  console.log(JSON.stringify(summary, null, 2));
  if (opt.json) fs.writeFileSync(opt.json, JSON.stringify(summary, null, 2) + '\n');
  const failures = [];
  if (end.rssMiB * 1048576 - base.rssMiB * 1048576 > RSS_LIMIT) failures.push(`RSS grew ${growth.toFixed(1)} MiB > ${opt['rss-limit']} MiB`);
  if (fdLeak !== 0) {
    const now = fdList();
    failures.push(`descriptors: ${start.fds} at start, ${end.fds} at end (new: ${now.filter((x) => !startFds.includes(x)).join(', ')}; gone: ${startFds.filter((x) => !now.includes(x)).join(', ')})`);
  }
  if (echo.sendErrors || echo.echoErrors) failures.push(`send errors: client ${echo.sendErrors}, echo ${echo.echoErrors}`);
  if (churn.errors) failures.push(`socket churn errors: ${churn.errors}`);
  if (echo.received + echo.lost !== echo.sent) failures.push('echo accounting mismatch');
  if (failures.length) { console.error('SOAK FAILED: ' + failures.join('; ')); process.exit(1); }
  console.log('SOAK OK');
})().catch((e) => { console.error(e); process.exit(1); });
