'use strict';
// udpkit/vnet's cost: 100,000 datagrams of 100 bytes through a lossy, jittery,
// reordering link in virtual time, and, in the same run for scale, the same
// 100,000 datagrams through real loopback with node:dgram (no loss there).
// Prints one JSON line per repetition and the medians.
//
//   node bench/vnet.js [reps=5]
const path = require('node:path');
const dgram = require('node:dgram');
const { Network } = require(path.join(__dirname, '..', 'dist', 'vnet.js'));

const N = 100000;
const SIZE = 100;
// Loopback sender bursts per event-loop turn: small enough that the receiver keeps up (100 overflows it).
const BURST = Number(process.env.BURST ?? 30);

async function virtual() {
  const net = new Network({ seed: 1 });
  const a = net.host('10.0.0.1');
  const b = net.host('10.0.0.2');
  net.link(a, b, { delay: 10, jitter: 2, loss: 0.2, duplicate: 0.01, reorder: 0.05 });
  const s = a.createSocket('udp4');
  const r = b.createSocket('udp4');
  let got = 0;
  r.on('message', () => { got++; });
  r.bind(5000);
  await net.advance(0);
  const payload = Buffer.alloc(SIZE);
  const t0 = performance.now();
  // A sender paced at 1000 datagrams per virtual ms (100 ms of virtual time).
  let sent = 0;
  const timer = net.clock.setInterval(() => {
    for (let i = 0; i < 1000 && sent < N; i++, sent++) s.send(payload, 5000, '10.0.0.2');
    if (sent >= N) net.clock.clearInterval(timer);
  }, 1);
  await net.advance(200);
  const ms = performance.now() - t0;
  s.close();
  r.close();
  return { ms, got };
}

async function loopback() {
  const r = dgram.createSocket('udp4');
  await new Promise((resolve) => r.bind(0, '127.0.0.1', resolve));
  const s = dgram.createSocket('udp4');
  const port = r.address().port;
  let got = 0;
  let last = 0;
  r.on('message', () => { got++; last = performance.now(); });
  const payload = Buffer.alloc(SIZE);
  const t0 = performance.now();
  // Paced in bursts so the receiver keeps up, as the virtual sender is.
  for (let sent = 0; sent < N;) {
    for (let i = 0; i < BURST && sent < N; i++, sent++) s.send(payload, port, '127.0.0.1');
    await new Promise(setImmediate);
  }
  // Done when everything arrived, or when nothing more arrives for 100 ms (the rest was lost).
  while (got < N && performance.now() - Math.max(last, t0) < 100) await new Promise((resolve) => setTimeout(resolve, 5));
  const ms = (got < N ? last : performance.now()) - t0;
  s.close();
  r.close();
  return { ms, got };
}

async function main() {
  const reps = Number(process.argv[2] ?? 5);
  const v = [];
  const l = [];
  for (let i = 0; i < reps; i++) {
    const rv = await virtual();
    const rl = await loopback();
    v.push(rv.ms);
    l.push(rl.ms);
    console.log(JSON.stringify({ rep: i, vnetMs: +rv.ms.toFixed(1), vnetDelivered: rv.got, loopbackMs: +rl.ms.toFixed(1), loopbackDelivered: rl.got }));
  }
  const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
  console.log(JSON.stringify({
    datagrams: N, medianVnetMs: +median(v).toFixed(1), medianLoopbackNodeDgramMs: +median(l).toFixed(1),
    ratio: +(median(v) / median(l)).toFixed(2),
  }));
}

main();
