'use strict';
// Receive coalescing (native/coalesce.c): under load a receiving socket is
// drained from a periodic timer instead of waking per readable event. What
// must hold: every datagram still arrives, intact and in order; pausing and
// closing work while it ticks; the timer goes away with the socket; a socket
// that answers what it receives is never coalesced; UDPKIT_RX_COALESCE_US=0
// turns it off. Whether it engaged is visible from outside as the timerfd
// it opens (Linux), so each case runs in a child with the window set.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');
const nodeDgram = require('node:dgram');
const udpkit = require('../dist/index.js');
const { closeAll } = require('./helpers/util.js');

const LO = '127.0.0.1';
const child = process.env.UDPKIT_COALESCE_CHILD;
// What the datapath under test has (the POSIX fallback has neither a timer to coalesce with nor a drop counter).
const platform = require('../dist/datapath/native.js').nativePlatform();

function timerfds() {
  let n = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`).includes('timerfd')) n++;
    } catch {}
  }
  return n;
}

function bind(impl, opts = {}) {
  return new Promise((resolve, reject) => {
    const s = impl.createSocket({ type: 'udp4', recvBufferSize: 1 << 20, ...opts });
    s.once('error', reject);
    s.bind(0, LO, () => resolve(s));
  });
}

const immediate = () => new Promise((resolve) => setImmediate(resolve));

/** Sends `bursts` bursts of `per` numbered datagrams, one burst per loop turn; resolves when `received()` has them all. */
async function load(tx, port, first, bursts, per, received) {
  let n = first;
  for (let b = 0; b < bursts; b++) {
    for (let i = 0; i < per; i++) {
      const buf = Buffer.alloc(16, n & 0xff);
      buf.writeUInt32BE(n++, 0);
      tx.send(buf, port, LO);
    }
    await immediate();
  }
  while (received() < n) await immediate();
  return n;
}

function numbered(list) {
  return (msg) => {
    assert.equal(msg.length, 16);
    const k = msg.readUInt32BE(0);
    assert.ok(msg.subarray(4).every((x) => x === (k & 0xff)), `payload of ${k} intact`);
    list.push(k);
  };
}

async function loadedReceiver() {
  const before = timerfds();
  const rx = await bind(udpkit);
  const tx = await bind(nodeDgram);
  const got = [];
  rx.on('message', numbered(got));
  const sent = await load(tx, rx.address().port, 0, 300, 8, () => got.length);
  return { before, rx, tx, got, sent };
}

test('a receiver under load coalesces: every datagram arrives intact and in order; pause and close work while it ticks', {
  skip: child !== 'on' && 'runs in a child with UDPKIT_RX_COALESCE_US=10000',
}, async () => {
  const { before, rx, tx, got, sent } = await loadedReceiver();
  assert.deepEqual(got, Array.from({ length: sent }, (_, i) => i));
  assert.equal(timerfds(), before + 1, 'the receiver opened its coalescing timer');

  // Paused while ticking: nothing is delivered; resumed: all of it, in order.
  const probe = await bind(udpkit);
  rx.pauseReceiving();
  const late = [];
  rx.removeAllListeners('message');
  rx.on('message', numbered(late));
  for (let i = 0; i < 20; i++) {
    const buf = Buffer.alloc(16, (sent + i) & 0xff);
    buf.writeUInt32BE(sent + i, 0);
    tx.send(buf, rx.address().port, LO);
  }
  // A round trip through another socket: the datagrams above are queued by now.
  await new Promise((resolve) => {
    probe.once('message', resolve);
    tx.send('probe', probe.address().port, LO);
  });
  assert.deepEqual(late, [], 'nothing delivered while paused');
  rx.resumeReceiving();
  while (late.length < 20) await immediate();
  assert.deepEqual(late, Array.from({ length: 20 }, (_, i) => sent + i));

  await closeAll([rx, tx, probe]);
  assert.equal(timerfds(), before, 'the timer closed with the socket');
});

// The native socket is held strongly only while something polls for it:
// stopping a coalescing socket must let a forgotten one be collected (and
// its descriptor and timer closed by the finalizer).
test('a coalescing socket, stopped and forgotten, is collected and its timer closed', {
  skip: (child !== 'on' || typeof globalThis.gc !== 'function') && 'runs in a child with UDPKIT_RX_COALESCE_US=10000 and --expose-gc',
}, async () => {
  const { nativeDatapath } = require('../dist/datapath/native.js');
  const before = timerfds();
  const tx = await bind(nodeDgram);
  let collected = false;
  const registry = new FinalizationRegistry(() => (collected = true));
  let count = 0;
  await (async () => {
    const s = nativeDatapath.createSocket(4);
    assert.equal(s.bind(LO, 0, 0), 0);
    assert.equal(s.setOption(5, 1 << 20), 0); // SO_RCVBUF: room for a 10 ms window of this load
    assert.equal(s.startReceiving({ onBatch: (n) => (count += n), onRecvError() {}, onWritable() {} }), 0);
    registry.register(s, 'socket');
    const port = s.localAddress().port;
    await load(tx, port, 0, 300, 8, () => count);
    assert.equal(timerfds(), before + 1, 'it coalesced');
    s.stopReceiving();
  })();
  for (let i = 0; i < 50 && !collected; i++) {
    globalThis.gc();
    await immediate();
  }
  assert.ok(collected, 'the stopped socket was collected');
  assert.equal(timerfds(), before, 'its timer closed');
  await closeAll([tx]);
});

// A shared descriptor (share(): its number was handed out) may coalesce,
// but a tick must still take one datagram per call into JavaScript, so that
// a close in a listener leaves the rest to the descriptor's other holder.
test('a shared socket under load coalesces one datagram per batch; a close in onBatch leaves the rest in the kernel', {
  skip: child !== 'on' && 'runs in a child with UDPKIT_RX_COALESCE_US=10000',
}, async () => {
  const { nativeDatapath } = require('../dist/datapath/native.js');
  const addon = require('../build/Release/udpkit.node');
  const before = timerfds();
  const tx = await bind(nodeDgram);
  const s = nativeDatapath.createSocket(4);
  assert.equal(s.bind(LO, 0, 0), 0);
  assert.equal(s.setOption(5, 1 << 20), 0); // SO_RCVBUF: room for a 10 ms window of this load
  const port = s.localAddress().port;
  const other = nativeDatapath.createSocket(4);
  assert.equal(other.open(addon.dupDescriptor(s.fd())), 0);
  s.share();
  const sizes = [];
  let count = 0;
  let closeNext = false;
  let closed;
  const closedInBatch = new Promise((resolve) => (closed = resolve));
  assert.equal(s.startReceiving({
    onBatch(n) {
      sizes.push(n);
      count += n;
      if (closeNext) {
        s.close();
        closed();
      }
    },
    onRecvError() {}, onWritable() {},
  }), 0);
  const sent = await load(tx, port, 0, 300, 8, () => count);
  assert.equal(timerfds(), before + 1, 'it coalesced');
  assert.ok(sizes.every((n) => n === 1), `one datagram per batch (${[...new Set(sizes)]})`);

  closeNext = true;
  for (let i = 0; i < 20; i++) {
    const buf = Buffer.alloc(16, (sent + i) & 0xff);
    buf.writeUInt32BE(sent + i, 0);
    tx.send(buf, port, LO);
  }
  await closedInBatch;
  assert.equal(count, sent + 1, 'the close stopped it after one more datagram');
  const rest = [];
  assert.equal(other.startReceiving({
    onBatch(n, payloads) {
      const { RECV_META_STRIDE } = require('../dist/datapath/types.js');
      const meta = other.recvMeta;
      for (let i = 0; i < n; i++) {
        const row = i * RECV_META_STRIDE;
        rest.push(Buffer.from(payloads, meta[row], meta[row + 1]).readUInt32BE(0));
      }
    },
    onRecvError() {}, onWritable() {},
  }), 0);
  while (rest.length < 19) await immediate();
  assert.deepEqual(rest, Array.from({ length: 19 }, (_, i) => sent + 1 + i), 'the other holder gets the rest, in order');
  other.close();
  await closeAll([tx]);
  assert.equal(timerfds(), before, 'the timer closed with the socket');
});

test('a socket that answers what it receives is never coalesced', {
  skip: child !== 'on' && 'runs in a child with UDPKIT_RX_COALESCE_US=10000',
}, async () => {
  const before = timerfds();
  const echo = await bind(udpkit);
  echo.on('message', (msg, rinfo) => echo.send(msg, rinfo.port, rinfo.address));
  const tx = await bind(nodeDgram);
  const back = [];
  tx.on('message', numbered(back));
  const sent = await load(tx, echo.address().port, 0, 300, 8, () => back.length);
  assert.equal(back.length, sent);
  assert.equal(timerfds(), before, 'no coalescing timer');
  await closeAll([echo, tx]);
});

test('UDPKIT_RX_COALESCE_US=0 turns coalescing off', {
  skip: child !== 'off' && 'runs in a child with UDPKIT_RX_COALESCE_US=0',
}, async () => {
  const { before, rx, tx, got, sent } = await loadedReceiver();
  assert.deepEqual(got, Array.from({ length: sent }, (_, i) => i));
  assert.equal(timerfds(), before, 'no coalescing timer');
  await closeAll([rx, tx]);
});

for (const [mode, us] of [['on', '10000'], ['off', '0']]) {
  test(`child run with UDPKIT_RX_COALESCE_US=${us}`, { skip: (child || !platform.receiveCoalescing) && 'child run, or a datapath without a timer to coalesce with' }, () => {
    const env = { ...process.env, UDPKIT_RX_COALESCE_US: us, UDPKIT_COALESCE_CHILD: mode };
    delete env.NODE_TEST_CONTEXT; // a plain run of its own, with its own report
    const res = spawnSync(process.execPath, ['--expose-gc', '--test', '--test-reporter=tap', __filename], { env, encoding: 'utf8', timeout: 120_000 });
    assert.equal(res.status, 0, res.stdout + res.stderr);
    assert.doesNotMatch(res.stdout, /^# pass 0$/m);
    assert.match(res.stdout, /^# fail 0$/m);
  });
}

test('getRecvDropCount() counts the datagrams the kernel dropped while the socket was paused', {
  skip: !platform.dropCounter && 'a datapath without a kernel drop counter (getRecvDropCount() is -1 there)',
}, async () => {
  const rx = await bind(udpkit, { recvBufferSize: 4096 });
  const tx = await bind(nodeDgram);
  rx.pauseReceiving();
  const N = 400;
  for (let i = 0; i < N; i++) tx.send(Buffer.alloc(200, 1), rx.address().port, LO);
  const probe = await bind(udpkit);
  await new Promise((resolve) => {
    probe.once('message', resolve);
    tx.send('probe', probe.address().port, LO);
  });
  const dropped = rx.getRecvDropCount();
  let received = 0;
  let first;
  let end;
  const started = new Promise((resolve) => (first = resolve));
  const ended = new Promise((resolve) => (end = resolve));
  rx.on('message', (msg) => {
    if (msg.length === 3) return end();
    received++;
    first();
  });
  rx.resumeReceiving();
  // The queue (a few datagrams) drains in one read; a marker sent after
  // that comes after all of them.
  await started;
  tx.send('end', rx.address().port, LO);
  await ended;
  assert.ok(dropped > 0, `a 4 KiB buffer cannot hold ${N} datagrams (dropped ${dropped})`);
  assert.equal(received + dropped, N);
  assert.equal(rx.getRecvDropCount(), dropped, 'no more drops after the resume');
  await closeAll([rx, tx, probe]);
});
