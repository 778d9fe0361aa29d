'use strict';
// bind(): variants, addresses, host names, EADDRINUSE, reuseAddr, ipv6Only.
const test = require('node:test');
const assert = require('node:assert/strict');
const os = require('node:os');
const dgram = require('./helpers/impl.js');
const { FAMILIES, LOOPBACK, ANY, FAMILY_NAME, nextEvent, boundSocket, closeAll, withTimeout } = require('./helpers/util.js');

const FAM_NUM = { udp4: 4, udp6: 6 };

for (const type of FAMILIES) {
  const loop = LOOPBACK[type];

  test(`${type}: bind(0, address, cb): 'listening' first, then the callback; address() is exact`, async () => {
    const s = dgram.createSocket(type);
    const order = [];
    s.on('listening', () => order.push('listening'));
    const ret = s.bind(0, loop, (...args) => { order.push(`callback(${args.length})`); });
    assert.equal(ret, s, 'bind returns the socket');
    await nextEvent(s, 'listening');
    await new Promise(setImmediate);
    assert.deepEqual(order, ['listening', 'callback(0)']);
    const a = s.address();
    assert.deepEqual(Object.keys(a).sort(), ['address', 'family', 'port']);
    assert.equal(a.address, loop);
    assert.equal(a.family, FAMILY_NAME[type]);
    assert.ok(Number.isInteger(a.port) && a.port > 0 && a.port < 65536, `port ${a.port}`);
    await closeAll([s]);
  });

  test(`${type}: bind() with no arguments binds the any address on a random port`, async () => {
    const s = dgram.createSocket(type);
    s.bind();
    await nextEvent(s, 'listening');
    const a = s.address();
    assert.equal(a.address, ANY[type]);
    assert.equal(a.family, FAMILY_NAME[type]);
    assert.ok(a.port > 0);
    await closeAll([s]);
  });

  test(`${type}: bind(callback) alone`, async () => {
    const s = dgram.createSocket(type);
    await withTimeout(new Promise((r) => s.bind(r)), 'bind callback');
    assert.equal(s.address().address, ANY[type]);
    await closeAll([s]);
  });

  test(`${type}: bind(options, callback) with port/address/exclusive`, async () => {
    for (const exclusive of [undefined, false, true]) {
      const s = dgram.createSocket(type);
      await withTimeout(new Promise((r) => s.bind({ port: 0, address: loop, exclusive }, r)), 'bind callback');
      assert.equal(s.address().address, loop);
      assert.ok(s.address().port > 0);
      await closeAll([s]);
    }
  });

  test(`${type}: bind to a specific known-free port`, async () => {
    const probe = await boundSocket(dgram, type);
    const port = probe.address().port;
    await closeAll([probe]);
    const s = dgram.createSocket(type);
    s.bind(port, loop);
    await nextEvent(s, 'listening');
    assert.equal(s.address().port, port);
    await closeAll([s]);
  });

  test(`${type}: bind to a port in use emits EADDRINUSE with exact fields, no 'listening'`, async () => {
    const holder = await boundSocket(dgram, type);
    const port = holder.address().port;
    const s = dgram.createSocket(type);
    let listened = false;
    let called = false;
    s.on('listening', () => { listened = true; });
    s.bind(port, loop, () => { called = true; });
    const [err] = await nextEvent(s, 'error');
    assert.ok(err instanceof Error);
    assert.equal(err.code, 'EADDRINUSE');
    assert.equal(err.errno, -os.constants.errno.EADDRINUSE);
    assert.equal(err.syscall, 'bind');
    assert.equal(err.address, loop);
    assert.equal(err.port, port);
    assert.equal(err.message, `bind EADDRINUSE ${loop}:${port}`);
    assert.equal(listened, false);
    assert.equal(called, false);
    await closeAll([holder, s]);
  });

  test(`${type}: reuseAddr lets two sockets bind the same port`, async () => {
    const a = await boundSocket(dgram, type, { options: { reuseAddr: true } });
    const port = a.address().port;
    const b = await boundSocket(dgram, type, { port, options: { reuseAddr: true } });
    assert.equal(b.address().port, port);
    await closeAll([a, b]);
  });

  test(`${type}: host name through a custom lookup`, async () => {
    const calls = [];
    const lookup = (host, opts, cb) => { calls.push([host, opts]); setImmediate(() => cb(null, loop, FAM_NUM[type])); };
    const s = dgram.createSocket({ type, lookup });
    s.bind(0, 'my-test-host.invalid');
    await nextEvent(s, 'listening');
    assert.equal(s.address().address, loop);
    assert.equal(calls.length, 1);
    assert.equal(calls[0][0], 'my-test-host.invalid');
    await closeAll([s]);
  });

  test(`${type}: lookup failure at bind is an 'error' event carrying the lookup error`, async () => {
    const lookupErr = Object.assign(new Error('no such host'), { code: 'ENOTFOUND' });
    const s = dgram.createSocket({ type, lookup: (h, o, cb) => setImmediate(() => cb(lookupErr)) });
    s.bind(0, 'nowhere.invalid');
    const [err] = await nextEvent(s, 'error');
    assert.equal(err, lookupErr);
    await closeAll([s]);
  });

  test(`${type}: bind to an address not on this host: EADDRNOTAVAIL`, async () => {
    const addr = type === 'udp4' ? '192.0.2.1' : '2001:db8::1';
    const s = dgram.createSocket(type);
    s.bind(0, addr);
    const [err] = await nextEvent(s, 'error');
    assert.equal(err.code, 'EADDRNOTAVAIL');
    assert.equal(err.syscall, 'bind');
    assert.equal(err.address, addr);
    assert.equal(err.port, undefined, 'no port field for port 0');
    assert.equal(err.message, `bind EADDRNOTAVAIL ${addr}`);
    await closeAll([s]);
  });

  test(`${type}: binding twice throws ERR_SOCKET_ALREADY_BOUND`, async () => {
    const s = await boundSocket(dgram, type);
    assert.throws(() => s.bind(0, loop), { code: 'ERR_SOCKET_ALREADY_BOUND', name: 'Error', message: 'Socket is already bound' });
    await closeAll([s]);
  });
}

test('udp4: bind "localhost" resolves to 127.0.0.1', async () => {
  const s = dgram.createSocket('udp4');
  s.bind(0, 'localhost');
  await nextEvent(s, 'listening');
  assert.equal(s.address().address, '127.0.0.1');
  await closeAll([s]);
});

test('udp6 ipv6Only: "::" does not take the IPv4 port; without it, it does', async () => {
  const v6only = await boundSocket(dgram, 'udp6', { address: '::', options: { ipv6Only: true } });
  const port = v6only.address().port;
  const v4 = await boundSocket(dgram, 'udp4', { address: '0.0.0.0', port });
  assert.equal(v4.address().port, port);
  await closeAll([v6only, v4]);

  const dual = await boundSocket(dgram, 'udp6', { address: '::' });
  const p2 = dual.address().port;
  const v4b = dgram.createSocket('udp4');
  v4b.bind(p2, '0.0.0.0');
  const [err] = await nextEvent(v4b, 'error');
  assert.equal(err.code, 'EADDRINUSE');
  await closeAll([dual, v4b]);
});
