'use strict';
// What issue 12's datapath features gain and cost, side by side in one run:
//  send:    1200-byte datagrams with sendMany segmentSize (one entry per 32
//           datagrams) vs plain sendMany vs node:dgram send(), to a receiver
//           in another process that counts them;
//  receive: a flood of 1200-byte datagrams from another process, received
//           by node:dgram, by udpkit, and by udpkit with recvPacketInfo and
//           recvTimestamps on.
// Rounds alternate the variants (A B C A B C ...) and the median is reported,
// so a noisy machine hurts every variant alike. Not a test.
//   node bench/features.js [seconds per round = 1.5] [rounds = 3]
const path = require('node:path');
const { fork } = require('node:child_process');

const DIST = process.env.UDPKIT_DIST || path.resolve(__dirname, '..', 'dist');
const LO = '127.0.0.1';
const SIZE = 1200;
const SEGS = 32;
const BURST = 1024; // datagrams in flight per round trip of callbacks

const impl = (name) => (name === 'node' ? require('node:dgram') : require(path.join(DIST, 'index.js')));

// ---------------------------------------------------------------- children

if (process.argv[2] === '--sink') {
  // Counts what arrives; tells the parent on request.
  const s = impl('udpkit').createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
  let count = 0;
  s.on('messages', (batch) => { count += batch.length; });
  s.bind(0, LO, () => process.send({ port: s.address().port }));
  process.on('message', () => { process.send({ count }); count = 0; });
  process.on('disconnect', () => process.exit(0));
  return;
}

if (process.argv[2] === '--flood') {
  // Sends as fast as it can (segmentSize: the cheapest sender) to the port it is given.
  const s = impl('udpkit').createSocket('udp4');
  const data = Buffer.alloc(SIZE * SEGS, 7);
  let port = 0;
  const list = Array.from({ length: BURST / SEGS }, () => ({ data, port: 0, address: LO, segmentSize: SIZE }));
  const go = () => {
    if (port === 0) return;
    for (const e of list) e.port = port;
    s.sendMany(list, () => setImmediate(go));
  };
  process.on('message', (m) => { const idle = port === 0; port = m.port; if (idle) go(); });
  process.on('disconnect', () => process.exit(0));
  s.bind(0, LO, () => process.send({ ready: true }));
  return;
}

// ---------------------------------------------------------------- parent

const seconds = Number(process.argv[2] || 1.5);
const rounds = Number(process.argv[3] || 3);
const ask = (child) => new Promise((resolve) => child.once('message', resolve));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// Sends 1200-byte datagrams for `seconds`, one burst of BURST in flight at a time.
function sendRound(variant, port) {
  return new Promise((resolve) => {
    const s = impl(variant === 'node' ? 'node' : 'udpkit').createSocket('udp4');
    const one = Buffer.alloc(SIZE, 1);
    const big = Buffer.alloc(SIZE * SEGS, 1);
    const plain = Array.from({ length: BURST }, () => ({ data: one, port, address: LO }));
    const segmented = Array.from({ length: BURST / SEGS }, () => ({ data: big, port, address: LO, segmentSize: SIZE }));
    let sent = 0;
    const until = Date.now() + seconds * 1000;
    const next = () => {
      if (Date.now() >= until) { s.close(); resolve(sent); return; }
      if (variant === 'node') {
        let left = BURST;
        const cb = (err) => { if (!err) sent++; if (--left === 0) setImmediate(next); };
        for (let i = 0; i < BURST; i++) s.send(one, port, LO, cb);
      } else {
        const list = variant === 'segmentSize' ? segmented : plain;
        s.sendMany(list, (err, n) => { sent += variant === 'segmentSize' ? n * SEGS : n; setImmediate(next); });
      }
    };
    s.bind(0, LO, next);
  });
}

function receiveRound(variant, flood) {
  return new Promise((resolve) => {
    const options = { type: 'udp4', recvBufferSize: 8 << 20 };
    if (variant === 'udpkit + packet info + timestamps') Object.assign(options, { recvPacketInfo: true, recvTimestamps: true });
    const s = impl(variant === 'node' ? 'node' : 'udpkit').createSocket(options);
    let count = 0;
    let last;
    s.on('message', (msg, rinfo) => { count++; last = rinfo; });
    s.bind(0, LO, () => {
      flood.send({ port: s.address().port });
      // The first quarter second warms up (buffers fill, JIT settles); then count.
      setTimeout(() => {
        count = 0;
        setTimeout(() => {
          const n = count;
          flood.send({ port: 0 });
          s.close();
          resolve({ rate: n / seconds, last });
        }, seconds * 1000);
      }, 250);
    });
  });
}

async function main() {
  const rows = [];
  const sink = fork(__filename, ['--sink']);
  const { port } = await ask(sink);
  const sendVariants = ['node', 'sendMany', 'segmentSize'];
  const sendRates = Object.fromEntries(sendVariants.map((v) => [v, []]));
  const delivered = Object.fromEntries(sendVariants.map((v) => [v, []]));
  for (let r = 0; r < rounds; r++) {
    for (const v of sendVariants) {
      sink.send('reset');
      await ask(sink);
      const sent = await sendRound(v, port);
      sink.send('count');
      const { count } = await ask(sink);
      sendRates[v].push(sent / seconds);
      delivered[v].push(count / seconds);
    }
  }
  sink.disconnect();

  const flood = fork(__filename, ['--flood']);
  await ask(flood);
  const recvVariants = ['node', 'udpkit', 'udpkit + packet info + timestamps'];
  const recvRates = Object.fromEntries(recvVariants.map((v) => [v, []]));
  let sample;
  for (let r = 0; r < rounds; r++) {
    for (const v of recvVariants) {
      const { rate, last } = await receiveRound(v, flood);
      recvRates[v].push(rate);
      if (v.includes('packet info')) sample = last;
    }
  }
  flood.disconnect();

  const base = median(sendRates.node);
  rows.push(['send 1200 B datagrams', 'sent/s', 'delivered/s', 'vs node:dgram']);
  const label = { node: 'node:dgram send()', sendMany: 'udpkit sendMany (plain entries)', segmentSize: 'udpkit sendMany segmentSize (32 per entry)' };
  for (const v of sendVariants) {
    rows.push([label[v], Math.round(median(sendRates[v])), Math.round(median(delivered[v])), (median(sendRates[v]) / base).toFixed(2)]);
  }
  const rbase = median(recvRates.node);
  rows.push(['receive 1200 B datagrams (flood)', 'received/s', '', 'vs node:dgram']);
  for (const v of recvVariants) {
    rows.push([v === 'node' ? 'node:dgram' : v, Math.round(median(recvRates[v])), '', (median(recvRates[v]) / rbase).toFixed(2)]);
  }
  for (const row of rows) console.log(row.map((c, i) => String(c)[i === 0 ? 'padEnd' : 'padStart'](i === 0 ? 44 : 14)).join(''));
  console.log(`(${rounds} rounds of ${seconds} s, medians; last rinfo with features: ${JSON.stringify(sample, (k, v) => (typeof v === 'bigint' ? String(v) : v))})`);
}

main();
