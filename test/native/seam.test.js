'use strict';
// Tests of the datapath seam itself (src/datapath/types.ts) against the
// native addon, with real sockets on loopback. Needs `npx tsc -p tsconfig.json`
// (for dist/) and the addon built (build/Release/udpkit.node).

const nodeTest = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');

const NATIVE = path.join(__dirname, '..', '..', 'dist', 'datapath', 'native.js');
const { nativeDatapath: dp } = require(NATIVE);
const E = os.constants.errno;

// Every test waits on events, never on time; the timeout only turns a lost
// datagram into a failure instead of a hang.
function test(name, opts, fn) {
  if (typeof opts === 'function') return nodeTest.test(name, { timeout: 20000 }, opts);
  return nodeTest.test(name, { timeout: 20000, ...opts }, fn);
}

const STRIDE = 5;
const Opt = { Broadcast: 1, TTL: 2, MulticastTTL: 3, MulticastLoopback: 4, RecvBufferSize: 5, SendBufferSize: 6 };
const BIND_IPV6ONLY = 1;
const BIND_REUSEADDR = 4;

const hasIPv6 = (() => {
  const s = dp.createSocket(6);
  const r = s.bind('::1', 0, 0);
  s.close();
  return r === 0;
})();

function bound(family = 4, address = family === 4 ? '127.0.0.1' : '::1') {
  const s = dp.createSocket(family);
  assert.equal(s.bind(address, 0, 0), 0);
  return s;
}

// Starts receiving on `s` and keeps every datagram (a copy of nothing: a
// view into the batch's own ArrayBuffer, which the datapath never reuses).
function collect(s) {
  const got = [];
  const errors = [];
  const waiters = [];
  let batches = 0;
  const wake = () => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i].test()) waiters.splice(i, 1)[0].resolve();
    }
  };
  const sink = {
    onBatch(count, data) {
      batches++;
      assert.ok(count >= 1);
      assert.ok(data instanceof ArrayBuffer);
      const m = s.recvMeta;
      for (let i = 0; i < count; i++) {
        const o = i * STRIDE;
        got.push({
          data: Buffer.from(data, m[o], m[o + 1]),
          port: m[o + 2],
          address: s.recvAddresses[m[o + 3]],
          flags: m[o + 4],
        });
      }
      wake();
    },
    onRecvError(errno) {
      errors.push(errno);
      wake();
    },
    onWritable() {},
  };
  assert.equal(s.startReceiving(sink), 0);
  return {
    got,
    errors,
    sink,
    get batches() { return batches; },
    until(test) {
      if (test()) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ test, resolve }));
    },
    count(n) { return this.until(() => got.length >= n); },
  };
}

function runChild(code) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', code], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, out, err, child }));
  });
}

test('bind and localAddress, IPv4', () => {
  const s = dp.createSocket(4);
  assert.equal(s.family, 4);
  assert.equal(s.fd(), -1);
  assert.equal(s.bind('127.0.0.1', 0, 0), 0);
  assert.ok(s.fd() >= 0);
  const a = s.localAddress();
  assert.equal(a.address, '127.0.0.1');
  assert.equal(a.family, 4);
  assert.ok(a.port > 0 && a.port < 65536);
  assert.equal(s.remoteAddress(), -E.ENOTCONN);
  s.close();
  s.close();
  assert.equal(s.fd(), -1);
  assert.equal(s.localAddress(), -E.EBADF);
});

test('bind and localAddress, IPv6 (dual stack and v6only)', { skip: !hasIPv6 && 'no IPv6 loopback' }, () => {
  const s = dp.createSocket(6);
  assert.equal(s.family, 6);
  assert.equal(s.bind('::1', 0, 0), 0);
  const a = s.localAddress();
  assert.deepEqual(a, { address: '::1', port: a.port, family: 6 });
  s.close();

  const v6only = dp.createSocket(6);
  assert.equal(v6only.bind('::', 0, BIND_IPV6ONLY), 0);
  assert.equal(v6only.localAddress().address, '::');
  v6only.close();
});

test('IPv4-mapped addresses on a dual-stack udp6 socket', { skip: !hasIPv6 && 'no IPv6 loopback' }, async () => {
  const r = dp.createSocket(6);
  assert.equal(r.bind('::', 0, 0), 0);
  const port = r.localAddress().port;
  const c = collect(r);
  const s = bound(4);
  assert.equal(s.send([Buffer.from('mapped')], 1, Int32Array.of(port), ['127.0.0.1']), 1);
  await c.count(1);
  assert.equal(c.got[0].address, '::ffff:127.0.0.1');
  assert.equal(c.got[0].port, s.localAddress().port);
  // ...and sending to a mapped address is just IPv6 for a udp6 socket.
  const s6 = dp.createSocket(6);
  assert.equal(s6.bind('::', 0, 0), 0);
  assert.equal(s6.send([Buffer.from('back')], 1, Int32Array.of(port), ['::ffff:127.0.0.1']), 1);
  await c.count(2);
  assert.equal(c.got[1].data.toString(), 'back');
  r.close(); s.close(); s6.close();
});

test('a batch of 100 distinct datagrams in one send arrives intact', async () => {
  const r = bound(4);
  const s = bound(4);
  const port = r.localAddress().port;
  const c = collect(r);
  const payloads = [];
  for (let i = 0; i < 100; i++) {
    // Sizes stay small enough that all 100 fit the default receive buffer
    // at once: loopback delivers synchronously, and overflow would drop.
    const len = i === 7 ? 0 : 2 + ((i * 977) % 1200);
    const b = Buffer.alloc(len);
    for (let j = 0; j < len; j++) b[j] = (i * 31 + j * 7) & 0xff;
    if (len) b.writeUInt16BE(i, 0);
    payloads.push(b);
  }
  const ports = new Int32Array(100).fill(port);
  const addrs = new Array(100).fill('127.0.0.1');
  let sent = 0;
  while (sent < 100) {
    const n = s.send(payloads.slice(sent), 100 - sent, ports.subarray(sent), addrs.slice(sent));
    assert.ok(n >= 1, `send returned ${n}`);
    sent += n;
  }
  await c.count(100);
  assert.equal(c.got.length, 100);
  assert.ok(c.batches <= 100);
  const hex = (list) => list.map((b) => b.toString('hex')).sort();
  assert.deepEqual(hex(c.got.map((g) => g.data)), hex(payloads));
  const from = s.localAddress().port;
  for (const g of c.got) {
    assert.equal(g.address, '127.0.0.1');
    assert.equal(g.port, from);
    assert.equal(g.flags, 0);
  }
  assert.deepEqual(c.errors, []);
  r.close();
  s.close();
});

test('many senders in one batch each get their own address slot', async () => {
  const r = bound(4, '0.0.0.0');
  const port = r.localAddress().port;
  const c = collect(r);
  const senders = [];
  // 127.0.0.0/8 is all loopback: 40 distinct source addresses.
  for (let i = 0; i < 40; i++) senders.push(bound(4, `127.0.${i}.${1 + i}`));
  for (let round = 0; round < 3; round++) {
    for (const [i, s] of senders.entries()) {
      assert.equal(s.send([Buffer.from(`${i}`)], 1, Int32Array.of(port), ['127.0.0.1']), 1);
    }
  }
  await c.count(120);
  for (const g of c.got) {
    const i = Number(g.data.toString());
    assert.equal(g.address, `127.0.${i}.${1 + i}`);
    assert.equal(g.port, senders[i].localAddress().port);
  }
  r.close();
  for (const s of senders) s.close();
});

test('scatter/gather: chunks become one datagram; views of any kind', async () => {
  const r = bound(4);
  const s = bound(4);
  const port = r.localAddress().port;
  const c = collect(r);
  const backing = Buffer.from('xxHELLOxx');
  const dvBytes = Buffer.from('dv!');
  const parts = [
    [Buffer.from('ab'), new Uint8Array(0), Buffer.from('cd'), backing.subarray(2, 7)],
    [new DataView(dvBytes.buffer, dvBytes.byteOffset, 3)],
    new Uint16Array([0x4241]),
    [],
    Buffer.alloc(0),
  ];
  assert.equal(s.send(parts, parts.length, new Int32Array(parts.length).fill(port), new Array(parts.length).fill('127.0.0.1')), 5);
  await c.count(5);
  assert.deepEqual(c.got.map((g) => g.data.toString('latin1')), ['abcdHELLO', 'dv!', 'AB', '', '']);
  r.close();
  s.close();
});

test('connect, remoteAddress, send without addresses, disconnect', async () => {
  const r = bound(4);
  const s = bound(4);
  const port = r.localAddress().port;
  const c = collect(r);
  assert.equal(s.connect('127.0.0.1', port), 0);
  assert.deepEqual(s.remoteAddress(), { address: '127.0.0.1', port, family: 4 });
  assert.equal(s.send([Buffer.from('one'), Buffer.from('two')], 2, null, null), 2);
  await c.count(2);
  assert.deepEqual(c.got.map((g) => g.data.toString()), ['one', 'two']);
  assert.equal(s.disconnect(), 0);
  assert.equal(s.remoteAddress(), -E.ENOTCONN);
  assert.equal(s.send([Buffer.from('x')], 1, null, null), -E.EDESTADDRREQ);
  r.close();
  s.close();
});

test('ICMP refusal on a connected socket reaches onRecvError', async () => {
  const gone = bound(4);
  const port = gone.localAddress().port;
  gone.close();
  const s = bound(4);
  const c = collect(s);
  assert.equal(s.connect('127.0.0.1', port), 0);
  assert.equal(s.send([Buffer.from('anyone?')], 1, null, null), 1);
  await c.until(() => c.errors.length > 0);
  assert.equal(c.errors[0], -E.ECONNREFUSED);
  s.close();
});

test('errors come back as negative errno', () => {
  const fresh = dp.createSocket(4);
  assert.equal(fresh.localAddress(), -E.EBADF);
  assert.equal(fresh.remoteAddress(), -E.EBADF);
  assert.equal(fresh.connect('127.0.0.1', 9), -E.EBADF);
  assert.equal(fresh.disconnect(), -E.EBADF);
  assert.equal(fresh.setOption(Opt.TTL, 5), -E.EBADF);
  assert.equal(fresh.getOption(Opt.TTL), -E.EBADF);
  assert.equal(fresh.setMulticastInterface('0.0.0.0'), -E.EBADF);
  assert.equal(fresh.setMembership('239.1.1.1', null, true), -E.EBADF);
  assert.equal(fresh.setSourceMembership('127.0.0.1', '232.1.1.1', null, true), -E.EBADF);
  assert.equal(fresh.send([Buffer.from('x')], 1, Int32Array.of(9), ['127.0.0.1']), -E.EBADF);
  assert.equal(fresh.startReceiving({ onBatch() {}, onRecvError() {}, onWritable() {} }), -E.EBADF);
  assert.equal(fresh.droppedCount(), -1);

  for (const bad of ['', 'localhost', '127.0.0.256', '1.2.3', '::1', '127.0.0.1\0junk', 'x'.repeat(300)]) {
    assert.equal(fresh.bind(bad, 0, 0), -E.EINVAL, JSON.stringify(bad));
  }
  // A failed bind leaves nothing behind, and a later bind works.
  assert.equal(fresh.fd(), -1);
  assert.equal(fresh.bind('127.0.0.1', 0, 0), 0);

  const port = fresh.localAddress().port;
  const other = dp.createSocket(4);
  assert.equal(other.bind('127.0.0.1', port, 0), -E.EADDRINUSE);
  assert.equal(other.fd(), -1, 'the failed descriptor was closed');
  assert.equal(other.bind('127.0.0.1', 0, 0), 0);
  assert.equal(other.send([Buffer.from('x')], 1, Int32Array.of(port), ['nope']), -E.EINVAL);
  assert.equal(other.send([Buffer.from('x')], 1, Int32Array.of(port), ['::1']), -E.EINVAL);
  assert.equal(other.connect('300.1.1.1', port), -E.EINVAL);
  assert.equal(other.setMulticastInterface('not an address'), -E.EINVAL);
  assert.equal(other.setMembership('nope', null, true), -E.EINVAL);
  // A bad address later in a batch sends what came before it.
  assert.equal(other.send([Buffer.from('a'), Buffer.from('b')], 2, Int32Array.of(port, port), ['127.0.0.1', 'bad']), 1);

  const r1 = dp.createSocket(4);
  const r2 = dp.createSocket(4);
  assert.equal(r1.bind('127.0.0.1', 0, BIND_REUSEADDR), 0);
  assert.equal(r2.bind('127.0.0.1', r1.localAddress().port, BIND_REUSEADDR), 0);

  for (const s of [fresh, other, r1, r2]) s.close();
  assert.equal(fresh.bind('127.0.0.1', 0, 0), -E.EBADF, 'calls after close');
  assert.equal(fresh.send([Buffer.from('x')], 1, Int32Array.of(port), ['127.0.0.1']), -E.EBADF);
  assert.equal(fresh.open(0), -E.EBADF);
});

test('open(fd): non-sockets, stream sockets, busy sockets', async () => {
  const s = dp.createSocket(4);
  const fd = fs.openSync(__filename, 'r');
  try {
    assert.equal(s.open(fd), -E.ENOTSOCK);
  } finally {
    fs.closeSync(fd);
  }
  assert.equal(s.open(-1), -E.EBADF);
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    assert.equal(s.open(server._handle.fd), -E.EINVAL);
  } finally {
    server.close();
  }
  const b = bound(4);
  assert.equal(b.open(b.fd()), -E.EBUSY);
  b.close();
  s.close();
});

test('open(fd) adopts a datagram socket (in a child, which owns the descriptor alone)', async () => {
  const code = `
    const { nativeDatapath: dp } = require(${JSON.stringify(NATIVE)});
    const a = dp.createSocket(4);
    a.bind('127.0.0.1', 0, 0);
    const b = dp.createSocket(4);
    const r = b.open(a.fd());
    const la = a.localAddress(), lb = b.localAddress();
    b.startReceiving({
      onBatch(n, data) {
        const m = b.recvMeta;
        console.log(JSON.stringify({ r, same: la.port === lb.port, fd: b.fd() === a.fd(),
          msg: Buffer.from(data, m[0], m[1]).toString() }));
        b.stopReceiving();
        process.exit(0);
      },
      onRecvError() {}, onWritable() {},
    });
    const s = dp.createSocket(4);
    s.bind('127.0.0.1', 0, 0);
    s.send([Buffer.from('adopted')], 1, Int32Array.of(la.port), ['127.0.0.1']);
  `;
  const res = await runChild(code);
  assert.equal(res.code, 0, res.err);
  assert.deepEqual(JSON.parse(res.out), { r: 0, same: true, fd: true, msg: 'adopted' });
});

test('setOption/getOption round trips', { skip: false }, () => {
  const s = bound(4);
  assert.equal(s.setOption(Opt.Broadcast, 1), 0);
  assert.equal(s.getOption(Opt.Broadcast), 1);
  assert.equal(s.setOption(Opt.Broadcast, 0), 0);
  assert.equal(s.getOption(Opt.Broadcast), 0);
  assert.equal(s.setOption(Opt.TTL, 17), 0);
  assert.equal(s.getOption(Opt.TTL), 17);
  assert.equal(s.setOption(Opt.TTL, 0), -E.EINVAL);
  assert.equal(s.setOption(Opt.MulticastTTL, 9), 0);
  assert.equal(s.getOption(Opt.MulticastTTL), 9);
  assert.equal(s.setOption(Opt.MulticastLoopback, 0), 0);
  assert.equal(s.getOption(Opt.MulticastLoopback), 0);
  assert.equal(s.setOption(Opt.MulticastLoopback, 1), 0);
  assert.equal(s.getOption(Opt.MulticastLoopback), 1);
  assert.equal(s.setOption(Opt.RecvBufferSize, 65536), 0);
  assert.equal(s.getOption(Opt.RecvBufferSize), 131072, 'Linux reports the doubled value');
  assert.equal(s.setOption(Opt.SendBufferSize, 32768), 0);
  assert.equal(s.getOption(Opt.SendBufferSize), 65536);
  assert.equal(s.setMulticastInterface('127.0.0.1'), 0);
  assert.equal(s.setMulticastInterface('0.0.0.0'), 0);
  assert.throws(() => s.setOption(99, 1), RangeError);
  s.close();

  if (hasIPv6) {
    const s6 = bound(6);
    assert.equal(s6.setOption(Opt.TTL, 33), 0);
    assert.equal(s6.getOption(Opt.TTL), 33);
    assert.equal(s6.setOption(Opt.MulticastTTL, 4), 0);
    assert.equal(s6.getOption(Opt.MulticastTTL), 4);
    assert.equal(s6.setOption(Opt.MulticastLoopback, 0), 0);
    assert.equal(s6.getOption(Opt.MulticastLoopback), 0);
    assert.equal(s6.setMulticastInterface('::'), 0);
    assert.equal(s6.setMulticastInterface('::%1'), 0);
    assert.equal(s6.setMulticastInterface('::%lo'), 0);
    assert.equal(s6.setMulticastInterface('::%no-such-if0'), -E.EINVAL);
    // An IPv4 interface on a dual-stack socket sets IP_MULTICAST_IF, as libuv does.
    assert.equal(s6.setMulticastInterface('127.0.0.1'), 0);
    s6.close();
  }
});

test('multicast membership on loopback', async () => {
  const r = dp.createSocket(4);
  assert.equal(r.bind('0.0.0.0', 0, BIND_REUSEADDR), 0);
  const joined = r.setMembership('239.255.77.77', '127.0.0.1', true);
  if (joined !== 0) {
    // Some sandboxes give loopback no multicast; the call still answered in errno.
    assert.ok(joined < 0);
    r.close();
    return;
  }
  assert.equal(r.setMembership('239.255.77.77', '127.0.0.1', false), 0);
  assert.equal(r.setMembership('239.255.77.77', '127.0.0.1', false), -E.EADDRNOTAVAIL);
  assert.equal(r.setSourceMembership('127.0.0.1', '232.1.1.1', '127.0.0.1', true), 0);
  assert.equal(r.setSourceMembership('127.0.0.1', '232.1.1.1', '127.0.0.1', false), 0);
  r.close();
});

test('waitWritable delivers one onWritable; readable polling goes on', async () => {
  const r = bound(4);
  const s = bound(4);
  const port = r.localAddress().port;
  let writable = 0;
  const c = collect(s);
  const w = new Promise((resolve) => {
    c.sink.onWritable = () => { writable++; resolve(); };
  });
  // Re-register so the replaced onWritable is the one called.
  assert.equal(s.startReceiving(c.sink), 0);
  s.waitWritable();
  await w;
  // Still receiving after the writable notification.
  assert.equal(r.send([Buffer.from('after')], 1, Int32Array.of(s.localAddress().port), ['127.0.0.1']), 1);
  await c.count(1);
  assert.equal(c.got[0].data.toString(), 'after');
  assert.equal(writable, 1);
  void port;
  r.close();
  s.close();
});

test('close() from inside onBatch stops delivery at once', async () => {
  const r = bound(4);
  const s = bound(4);
  const port = r.localAddress().port;
  dp.recvBatchSize; // just readable
  let calls = 0;
  let closed;
  const done = new Promise((resolve) => { closed = resolve; });
  r.startReceiving({
    onBatch() {
      calls++;
      r.close();
      closed();
    },
    onRecvError() {},
    onWritable() {},
  });
  const many = new Array(500).fill(Buffer.from('z'));
  s.send(many, 500, new Int32Array(500).fill(port), new Array(500).fill('127.0.0.1'));
  await done;
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(calls, 1);
  assert.equal(r.fd(), -1);
  s.close();
});

test('nextTick and microtasks run after each onBatch; throws become uncaughtException', async () => {
  const code = `
    const { nativeDatapath: dp } = require(${JSON.stringify(NATIVE)});
    const log = [];
    const r = dp.createSocket(4); r.bind('127.0.0.1', 0, 0);
    const s = dp.createSocket(4); s.bind('127.0.0.1', 0, 0);
    const port = r.localAddress().port;
    let n = 0;
    process.on('uncaughtException', (e) => {
      log.push('uncaught:' + e.message);
    });
    r.startReceiving({
      onBatch(count) {
        n++;
        log.push('batch' + n);
        process.nextTick(() => log.push('tick' + n));
        Promise.resolve().then(() => log.push('micro' + n));
        if (n === 1) {
          setImmediate(() => s.send([Buffer.from('b')], 1, Int32Array.of(port), ['127.0.0.1']));
          throw new Error('boom');
        }
        r.close(); s.close();
        setImmediate(() => console.log(JSON.stringify(log)));
      },
      onRecvError() {}, onWritable() {},
    });
    s.send([Buffer.from('a')], 1, Int32Array.of(port), ['127.0.0.1']);
  `;
  const res = await runChild(code);
  assert.equal(res.code, 0, res.err);
  const log = JSON.parse(res.out);
  assert.deepEqual(log.slice(0, 2), ['batch1', 'uncaught:boom']);
  assert.deepEqual(log.slice(-3), ['batch2', 'tick2', 'micro2']);
});

test('ref/unref: a receiving unref\'d socket lets the process exit; ref\'d keeps it', async () => {
  const unrefd = await runChild(`
    const { nativeDatapath: dp } = require(${JSON.stringify(NATIVE)});
    const r = dp.createSocket(4); r.bind('127.0.0.1', 0, 0);
    r.startReceiving({ onBatch() {}, onRecvError() {}, onWritable() {} });
    r.unref();
    process.on('exit', () => console.log('exited'));
  `);
  assert.equal(unrefd.code, 0, unrefd.err);
  assert.equal(unrefd.out.trim(), 'exited');

  const notReceiving = await runChild(`
    const { nativeDatapath: dp } = require(${JSON.stringify(NATIVE)});
    const r = dp.createSocket(4); r.bind('127.0.0.1', 0, 0);
    r.ref();
    process.on('exit', () => console.log('exited'));
  `);
  assert.equal(notReceiving.out.trim(), 'exited');

  // Ref'd and receiving: stays alive until it receives our datagram.
  const child = spawn(process.execPath, ['-e', `
    const { nativeDatapath: dp } = require(${JSON.stringify(NATIVE)});
    const r = dp.createSocket(4); r.bind('127.0.0.1', 0, 0);
    r.unref(); r.ref();
    r.startReceiving({ onBatch() { console.log('got'); r.close(); }, onRecvError() {}, onWritable() {} });
    console.log(r.localAddress().port);
  `], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let exited = false;
  const port = await new Promise((resolve) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = /^(\d+)\n/.exec(out);
      if (m) resolve(Number(m[1]));
    });
  });
  const exit = new Promise((resolve) => child.on('exit', (code) => { exited = true; resolve(code); }));
  // Round-trip something through our own loop first: the child had every
  // chance to exit meanwhile if the poll handle were not keeping it alive.
  const probe = bound(4);
  const c = collect(probe);
  probe.send([Buffer.from('p')], 1, Int32Array.of(probe.localAddress().port), ['127.0.0.1']);
  await c.count(1);
  assert.equal(exited, false);
  assert.equal(probe.send([Buffer.from('go')], 1, Int32Array.of(port), ['127.0.0.1']), 1);
  assert.equal(await exit, 0);
  assert.match(out, /got/);
  probe.close();
});

test('recvBatchSize bounds batches for sockets created afterwards', async () => {
  const before = dp.recvBatchSize;
  assert.equal(before, 32);
  assert.throws(() => { dp.recvBatchSize = 0; }, RangeError);
  assert.throws(() => { dp.recvBatchSize = 5000; }, RangeError);
  assert.throws(() => { dp.recvBatchSize = 'x'; }, TypeError);
  dp.recvBatchSize = 4;
  let r;
  try {
    r = bound(4);
  } finally {
    dp.recvBatchSize = before;
  }
  assert.equal(r.recvMeta.length, 4 * STRIDE);
  const s = bound(4);
  const port = r.localAddress().port;
  const sizes = [];
  const all = new Promise((resolve) => {
    let total = 0;
    r.startReceiving({
      onBatch(n) { sizes.push(n); total += n; if (total === 10) resolve(); },
      onRecvError() {}, onWritable() {},
    });
  });
  s.send(new Array(10).fill(Buffer.from('q')), 10, new Int32Array(10).fill(port), new Array(10).fill('127.0.0.1'));
  await all;
  assert.ok(sizes.every((n) => n >= 1 && n <= 4), String(sizes));
  r.close();
  s.close();
});

test('droppedCount follows the kernel drop counter', async () => {
  const r = bound(4);
  const s = bound(4);
  const port = r.localAddress().port;
  assert.equal(r.setOption(Opt.RecvBufferSize, 4096), 0);
  const big = Buffer.alloc(8000);
  s.send(new Array(50).fill(big), 50, new Int32Array(50).fill(port), new Array(50).fill('127.0.0.1'));
  const c = collect(r);
  // Once something was read the queue has room again for one more.
  await c.count(1);
  s.send([Buffer.from('last')], 1, Int32Array.of(port), ['127.0.0.1']);
  await c.until(() => c.got.some((g) => g.data.toString() === 'last'));
  const dropped = r.droppedCount();
  assert.ok(dropped === -1 || dropped > 0, `dropped ${dropped}`);
  r.close();
  s.close();
});

test('garbage arguments throw TypeError/RangeError and never crash', () => {
  const detached = new Uint8Array(8);
  structuredClone(detached.buffer, { transfer: [detached.buffer] });
  const weird = [
    undefined, null, true, false, 0, -1, 1.5, NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 31) - 1, 70000,
    '', 'x', '127.0.0.1', '::1', '\0', 'a'.repeat(10000), Symbol('s'), 10n, {}, [], [1], [null], [[[]]],
    () => {}, new Proxy({}, {}), new Proxy([], {}), detached, new Uint8Array(0), new Float64Array(3),
    new Int32Array(0), new Int32Array([-5]), Buffer.from('x'), new DataView(new ArrayBuffer(2)),
    Object.create(null), new Date(), /re/, new Map(), [Symbol('in array')], ['127.0.0.1'],
    { onBatch: 1, onRecvError: 2, onWritable: 3 }, new Array(5000), [detached], [[detached, 1]],
  ];
  const good = {
    bind: ['127.0.0.1', 0, 0],
    open: [0],
    connect: ['127.0.0.1', 9],
    disconnect: [],
    localAddress: [],
    remoteAddress: [],
    fd: [],
    setOption: [2, 64],
    getOption: [2],
    setMulticastInterface: ['0.0.0.0'],
    setMembership: ['239.1.2.3', null, false],
    setSourceMembership: ['127.0.0.1', '232.1.2.3', null, false],
    send: [[Buffer.from('x')], 1, Int32Array.of(9), ['127.0.0.1']],
    waitWritable: [],
    droppedCount: [],
    startReceiving: [{ onBatch() {}, onRecvError() {}, onWritable() {} }],
    stopReceiving: [],
    ref: [],
    unref: [],
    close: [],
  };
  const ok = (fn) => {
    try {
      const r = fn();
      assert.ok(r === undefined || typeof r === 'number' || (typeof r === 'object' && r !== null), typeof r);
      if (typeof r === 'number') assert.ok(Number.isInteger(r));
    } catch (e) {
      assert.ok(e instanceof TypeError || e instanceof RangeError, `${e && e.name}: ${e && e.message}`);
    }
  };
  for (const family of [4, 6]) {
    for (const state of ['fresh', 'bound', 'closed']) {
      for (const [name, args] of Object.entries(good)) {
        if (name === 'close' || name === 'open') continue;
        const s = dp.createSocket(family);
        if (state !== 'fresh') s.bind(family === 4 ? '127.0.0.1' : '::1', 0, 0);
        if (state === 'closed') s.close();
        for (let pos = 0; pos < Math.max(args.length, 1); pos++) {
          for (const w of weird) {
            const a = args.slice();
            a[pos] = w;
            ok(() => s[name](...a));
          }
        }
        for (const w of weird) ok(() => s[name](w, w, w, w));
        ok(() => s[name]());
        s.close();
      }
    }
  }
  // Nested payload arrays, getters that close the socket mid-send, foreign receivers.
  const s = bound(4);
  const evil = [Buffer.from('a')];
  Object.defineProperty(evil, 1, { get() { s.close(); return Buffer.from('b'); } });
  ok(() => s.send(evil, 2, Int32Array.of(9, 9), ['127.0.0.1', '127.0.0.1']));
  assert.equal(s.fd(), -1);
  const t = bound(4);
  const reentrant = [Buffer.from('a')];
  Object.defineProperty(reentrant, 1, {
    get() { t.send([Buffer.from('inner')], 1, Int32Array.of(9), ['127.0.0.1']); return Buffer.from('b'); },
  });
  ok(() => t.send(reentrant, 2, Int32Array.of(9, 9), ['127.0.0.1', '127.0.0.1']));
  assert.throws(() => t.send([Buffer.from('x')], 1, Int32Array.of(-1), ['127.0.0.1']), RangeError);
  assert.throws(() => t.send([Buffer.from('x')], 1, new Uint32Array(1), ['127.0.0.1']), TypeError);
  assert.throws(() => t.bind('127.0.0.1', NaN, 0), RangeError);
  assert.throws(() => t.connect('127.0.0.1', -1), RangeError);
  assert.throws(() => t.send([Buffer.from('x')], NaN, null, null), RangeError);
  assert.equal(t.send([Buffer.from('x')], 1000, Int32Array.of(9), ['127.0.0.1']), 1, 'count is clamped to the arrays');
  t.close();
  const proto = Object.getPrototypeOf(t);
  for (const name of Object.keys(good)) {
    assert.throws(() => proto[name].call({}), TypeError);
    assert.throws(() => proto[name].call(undefined), TypeError);
  }
  assert.throws(() => dp.createSocket(5), RangeError);
  assert.throws(() => dp.createSocket('4'), TypeError);
  assert.throws(() => proto.constructor(4), TypeError);
  // A detached recvMeta must not take the process down either.
  const r = bound(4);
  structuredClone(r.recvMeta.buffer, { transfer: [r.recvMeta.buffer] });
  r.close();
});

test('a shared socket (open, or share()) takes one datagram per batch: what a close in onBatch leaves stays in the kernel', async () => {
  const addon = require(path.join(__dirname, '..', '..', 'build', 'Release', 'udpkit.node'));
  for (const how of ['open', 'share']) {
    const a = bound();
    const port = a.localAddress().port;
    const b = dp.createSocket(4);
    assert.equal(b.open(addon.dupDescriptor(a.fd())), 0);
    // open() makes b shared; share() makes a shared (its number was handed out).
    const reader = how === 'open' ? b : a;
    const other = reader === a ? b : a;
    if (how === 'share') a.share();
    const s = bound();
    for (let i = 0; i < 5; i++) assert.equal(s.send([Buffer.from(`m${i}`)], 1, Int32Array.of(port), ['127.0.0.1']), 1);
    const sizes = [];
    await new Promise((resolve) => {
      assert.equal(reader.startReceiving({
        onBatch(n) { sizes.push(n); reader.close(); resolve(); },
        onRecvError() {}, onWritable() {},
      }), 0);
    });
    assert.deepEqual(sizes, [1], how);
    const rest = collect(other);
    await rest.count(4);
    assert.deepEqual(rest.got.map((g) => g.data.toString()), ['m1', 'm2', 'm3', 'm4'], how);
    other.close();
    s.close();
  }
});

test('receive state lives from first use to close: recvMeta and recvAddresses are let go at close', async () => {
  const s = bound();
  assert.equal(s.recvMeta.length, dp.recvBatchSize * STRIDE);
  assert.equal(s.recvMeta, s.recvMeta, 'one table while open');
  assert.equal(s.recvAddresses.length >= 2 * dp.recvBatchSize, true);
  s.close();
  assert.equal(s.recvMeta.length, 0);
  assert.deepEqual(s.recvAddresses, []);
  // Never read and never received: closing makes nothing.
  const t = bound();
  t.close();
  assert.equal(t.recvMeta.length, 0);
});

test('a setter on recvAddresses that closes the socket mid-receive: nothing delivered, nothing freed twice', async () => {
  const r = bound();
  const table = r.recvAddresses;
  let closedInSetter;
  const setterRan = new Promise((resolve) => { closedInSetter = resolve; });
  for (let i = 0; i < table.length; i++) {
    Object.defineProperty(table, i, { set() { r.close(); closedInSetter(); }, get() { return ''; }, configurable: true });
  }
  const c = collect(r);
  const s = bound();
  assert.equal(s.send([Buffer.from('x')], 1, Int32Array.of(r.localAddress().port), ['127.0.0.1']), 1);
  await setterRan;
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(c.batches, 0);
  assert.equal(r.fd(), -1);
  s.close();
});

test('recvInfo lives from the setRecvFeatures that asks for it to close, as recvMeta does', () => {
  const s = bound();
  assert.equal(s.recvInfo, undefined, 'not made before it is asked for');
  const on = s.setRecvFeatures(1); // RECV_PACKET_INFO
  assert.equal(on & 1, 1);
  assert.ok(s.recvInfo instanceof Int32Array);
  assert.equal(s.recvInfo.length, dp.recvBatchSize * 6);
  assert.equal(s.recvInfo, s.recvInfo, 'one table while open');
  s.close();
  assert.equal(s.recvInfo, undefined, 'let go at close');
  assert.equal(s.setRecvFeatures(1) < 0, true, 'a closed socket makes none again');
  assert.equal(s.recvInfo, undefined);
});
