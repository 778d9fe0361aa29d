'use strict';
// reusePort across processes (examples/reuseport-server.js) and the block
// lists on a bound socket.
const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const net = require('node:net');
const { spawn } = require('node:child_process');
const { ROOT } = require('../fixtures/process/run.js');

const dgram = require(path.join(ROOT, 'dist', 'index.js'));

test('two processes bind one port with reusePort and both receive datagrams', { timeout: 30000 }, async () => {
  const server = spawn(process.execPath, [path.join(ROOT, 'examples', 'reuseport-server.js'), '0', '2'], {
    env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => server.on('exit', (code, signal) => resolve({ code, signal })));
  try {
    const infos = await new Promise((resolve, reject) => {
      let buf = '';
      server.stdout.on('data', (d) => {
        buf += d;
        const lines = buf.split('\n').filter(Boolean);
        if (lines.length >= 2) resolve(lines.slice(0, 2).map((l) => JSON.parse(l)));
      });
      server.on('exit', () => reject(new Error('server exited: ' + buf)));
    });
    assert.strictEqual(infos[0].port, infos[1].port);
    assert.notStrictEqual(infos[0].pid, infos[1].pid);
    const pids = new Set(infos.map((i) => String(i.pid)));

    // 64 source ports; the kernel picks a socket by hashing the source, so
    // both processes get some (all 64 on one side: probability 2^-63).
    const answeredBy = await Promise.all(Array.from({ length: 64 }, () => new Promise((resolve, reject) => {
      const c = dgram.createSocket('udp4');
      c.on('error', reject);
      c.on('message', (msg, rinfo) => {
        if (rinfo.port !== infos[0].port || !pids.has(msg.toString())) return; // strays on shared loopback
        c.close();
        resolve(msg.toString());
      });
      c.send('who', infos[0].port, '127.0.0.1');
    })));
    assert.deepStrictEqual(new Set(answeredBy), pids);
  } finally {
    server.kill('SIGTERM');
  }
  assert.deepStrictEqual(await exited, { code: 0, signal: null });
});

test('a port bound with reusePort: a socket without it cannot join, one with it can', { timeout: 10000 }, async () => {
  const a = dgram.createSocket({ type: 'udp4', reusePort: true });
  await new Promise((resolve) => a.bind(0, '127.0.0.1', resolve));
  const port = a.address().port;
  const plain = dgram.createSocket('udp4');
  const err = await new Promise((resolve) => { plain.on('error', resolve); plain.bind(port, '127.0.0.1'); });
  assert.strictEqual(err.code, 'EADDRINUSE');
  plain.close();
  const b = dgram.createSocket({ type: 'udp4', reusePort: true });
  await new Promise((resolve, reject) => { b.on('error', reject); b.bind(port, '127.0.0.1', resolve); });
  assert.strictEqual(b.address().port, port);
  a.close();
  b.close();
});

// A BlockList that records its checks: lets the test see the receiver decide
// about each datagram, so nothing has to wait on time.
class WatchedBlockList extends net.BlockList {
  constructor() { super(); this.checks = []; this.onCheck = () => {}; }
  check(address, family) {
    const blocked = super.check(address, family);
    this.checks.push({ address, blocked });
    this.onCheck(address, blocked);
    return blocked;
  }
}

test('receiveBlockList: datagrams from a blocked source are dropped, others delivered', { timeout: 10000 }, async () => {
  const list = new WatchedBlockList();
  list.addAddress('127.0.0.1');
  const r = dgram.createSocket({ type: 'udp4', receiveBlockList: list });
  const messages = [];
  r.on('message', (msg) => messages.push(msg.toString()));
  await new Promise((resolve) => r.bind(0, '127.0.0.1', resolve));
  const s = dgram.createSocket('udp4');
  const port = r.address().port;

  // 1. blocked: wait until the receiver has checked (and dropped) it.
  const checked = new Promise((resolve) => { list.onCheck = (addr, blocked) => { if (blocked) resolve(); }; });
  s.send('blocked', port, '127.0.0.1');
  await checked;
  // 2. allowed again (a rule can't be removed: swap the answer), the next one arrives.
  list.check = function check(address, family) { this.checks.push({ address, blocked: false }); return false; };
  const delivered = new Promise((resolve) => r.once('message', resolve));
  s.send('allowed', port, '127.0.0.1');
  await delivered;
  // Strays from other processes on loopback may be there too; ours are what matters.
  assert.deepStrictEqual(messages.filter((m) => m === 'blocked' || m === 'allowed'), ['allowed']);
  r.close();
  s.close();
});

test('sendBlockList: send and connect to a blocked address fail with ERR_IP_BLOCKED', { timeout: 10000 }, async () => {
  const list = new net.BlockList();
  list.addAddress('127.0.0.1');
  const s = dgram.createSocket({ type: 'udp4', sendBlockList: list });
  await new Promise((resolve) => s.bind(0, '127.0.0.1', resolve));
  const sendErr = await new Promise((resolve) => s.send('x', 9, '127.0.0.1', resolve));
  assert.strictEqual(sendErr.code, 'ERR_IP_BLOCKED');
  assert.strictEqual(sendErr.message, 'IP(127.0.0.1) is blocked by net.BlockList');
  const connectErr = await new Promise((resolve) => s.connect(9, '127.0.0.1', resolve));
  assert.strictEqual(connectErr.code, 'ERR_IP_BLOCKED');
  assert.throws(() => s.remoteAddress(), { code: 'ERR_SOCKET_DGRAM_NOT_CONNECTED' });
  // Without a callback the error is an 'error' event.
  const evt = new Promise((resolve) => s.once('error', resolve));
  s.connect(9, '127.0.0.1');
  assert.strictEqual((await evt).code, 'ERR_IP_BLOCKED');
  // Other destinations are unaffected.
  const six = dgram.createSocket({ type: 'udp6', sendBlockList: list });
  const ok = await new Promise((resolve) => six.send('x', 9, '::1', resolve));
  assert.strictEqual(ok, null);
  six.close();
  s.close();
});
