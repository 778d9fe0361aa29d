'use strict';
// Receive-side throughput of the native datapath: another process floods
// 64-byte datagrams over loopback for a few seconds; this one counts what
// it receives and what it cost in CPU. Not a test; a number to look at.
//   node native/tools/flood.js [seconds=5] [recvBatchSize=32]
const path = require('node:path');
const { spawn } = require('node:child_process');
const NATIVE = path.join(__dirname, '..', '..', 'dist', 'datapath', 'native.js');

if (process.argv[2] === '--send') {
  const { nativeDatapath: dp } = require(NATIVE);
  const port = Number(process.argv[3]);
  const until = Date.now() + Number(process.argv[4]) * 1000;
  const s = dp.createSocket(4);
  s.bind('127.0.0.1', 0, 0);
  s.connect('127.0.0.1', port);
  const N = 256;
  const payloads = Array.from({ length: N }, (_, i) => Buffer.alloc(64, i));
  let sent = 0;
  let calls = 0;
  // Bounded in time; yields to the loop now and then so it can be told off.
  const burst = () => {
    for (let k = 0; k < 64; k++) {
      const n = s.send(payloads, N, null, null);
      calls++;
      if (n > 0) sent += n;
    }
    if (Date.now() < until) setImmediate(burst);
    else { process.stdout.write(JSON.stringify({ sent, calls }) + '\n'); s.close(); }
  };
  burst();
  return;
}

const { nativeDatapath: dp } = require(NATIVE);
const seconds = Number(process.argv[2] || 5);
dp.recvBatchSize = Number(process.argv[3] || 32);
const r = dp.createSocket(4);
r.bind('127.0.0.1', 0, 0);
r.setOption(5, 4 * 1024 * 1024);
let received = 0;
let batches = 0;
let bytes = 0;
r.startReceiving({
  onBatch(count, data) {
    batches++;
    received += count;
    bytes += data.byteLength;
  },
  onRecvError(e) { console.error('recv error', e); },
  onWritable() {},
});
const child = spawn(process.execPath, [__filename, '--send', String(r.localAddress().port), String(seconds)], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
let out = '';
child.stdout.on('data', (d) => { out += d; });
const t0 = process.hrtime.bigint();
const c0 = process.cpuUsage();
child.on('exit', () => {
  setImmediate(() => {
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(c0);
    const cpuUs = cpu.user + cpu.system;
    const sender = JSON.parse(out);
    console.log(JSON.stringify({
      seconds: +secs.toFixed(2),
      sent: sender.sent,
      received,
      kernelDropped: r.droppedCount(),
      perSecond: Math.round(received / secs),
      avgBatch: +(received / batches).toFixed(1),
      cpuPercent: +((cpuUs / 1e6 / secs) * 100).toFixed(1),
      cpuNsPerDatagram: Math.round((cpuUs * 1000) / received),
      userNsPerDatagram: Math.round((cpu.user * 1000) / received),
      bytes,
    }));
    r.close();
  });
});
