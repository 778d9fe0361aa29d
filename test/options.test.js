'use strict';
// Socket options on bound sockets: buffer sizes, TTLs, broadcast, multicast
// flags; and the createSocket options that set them.
const test = require('node:test');
const assert = require('node:assert/strict');
const dgram = require('./helpers/impl.js');
const { FAMILIES, LOOPBACK, boundSocket, closeAll, withTimeout } = require('./helpers/util.js');


for (const type of FAMILIES) {
  const loop = LOOPBACK[type];

  test(`${type}: buffer sizes: unbound throws ERR_SOCKET_BUFFER_SIZE with info`, () => {
    const s = dgram.createSocket(type);
    for (const [fn, uv] of [[() => s.getRecvBufferSize(), 'uv_recv_buffer_size'], [() => s.getSendBufferSize(), 'uv_send_buffer_size'],
      [() => s.setRecvBufferSize(8192), 'uv_recv_buffer_size'], [() => s.setSendBufferSize(8192), 'uv_send_buffer_size']]) {
      let err;
      try { fn(); } catch (e) { err = e; }
      assert.ok(err instanceof Error, 'throws');
      assert.equal(err.code, 'ERR_SOCKET_BUFFER_SIZE');
      assert.equal(err.name, 'SystemError');
      assert.equal(err.message, `Could not get or set buffer size: ${uv} returned EBADF (bad file descriptor)`);
      assert.deepEqual(err.info, { errno: -9, code: 'EBADF', message: 'bad file descriptor', syscall: uv });
      assert.equal(err.errno, -9);
      assert.equal(err.syscall, uv);
    }
    s.close();
  });

  test(`${type}: buffer sizes: set then get on a bound socket (kernel doubles)`, async () => {
    const s = await boundSocket(dgram, type);
    assert.ok(s.getRecvBufferSize() > 0);
    assert.ok(s.getSendBufferSize() > 0);
    assert.equal(s.setRecvBufferSize(65536), undefined);
    assert.equal(s.getRecvBufferSize(), 131072);
    assert.equal(s.setSendBufferSize(32768), undefined);
    assert.equal(s.getSendBufferSize(), 65536);
    assert.throws(() => s.setRecvBufferSize(-1), { code: 'ERR_SOCKET_BAD_BUFFER_SIZE', name: 'TypeError', message: 'Buffer size must be a positive integer' });
    assert.throws(() => s.setSendBufferSize('x'), { code: 'ERR_SOCKET_BAD_BUFFER_SIZE' });
    await closeAll([s]);
  });

  test(`${type}: recvBufferSize/sendBufferSize options apply when bound`, async () => {
    const s = dgram.createSocket({ type, recvBufferSize: 40000, sendBufferSize: 50000 });
    await withTimeout(new Promise((r) => s.bind(0, loop, r)), 'bind');
    assert.equal(s.getRecvBufferSize(), 80000);
    assert.equal(s.getSendBufferSize(), 100000);
    await closeAll([s]);
  });

  test(`${type}: setTTL / setMulticastTTL bounds on a bound socket`, async () => {
    const s = await boundSocket(dgram, type);
    assert.equal(s.setTTL(1), 1);
    assert.equal(s.setTTL(255), 255);
    assert.throws(() => s.setTTL(0), { code: 'EINVAL', syscall: 'setTTL', errno: -22, message: 'setTTL EINVAL' });
    assert.throws(() => s.setTTL(256), { code: 'EINVAL', syscall: 'setTTL' });
    assert.throws(() => s.setTTL('x'), { code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' });
    assert.equal(s.setMulticastTTL(0), 0);
    assert.equal(s.setMulticastTTL(255), 255);
    assert.throws(() => s.setMulticastTTL(256), { code: 'EINVAL', syscall: 'setMulticastTTL', message: 'setMulticastTTL EINVAL' });
    assert.throws(() => s.setMulticastTTL('x'), { code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' });
    await closeAll([s]);
  });

  test(`${type}: setBroadcast / setMulticastLoopback: EBADF unbound, fine bound`, async () => {
    const u = dgram.createSocket(type);
    assert.throws(() => u.setBroadcast(true), { code: 'EBADF', syscall: 'setBroadcast', message: 'setBroadcast EBADF' });
    assert.throws(() => u.setMulticastLoopback(true), { code: 'EBADF', syscall: 'setMulticastLoopback' });
    assert.throws(() => u.setTTL(64), { code: 'EBADF', syscall: 'setTTL' });
    u.close();
    const s = await boundSocket(dgram, type);
    assert.equal(s.setBroadcast(true), undefined);
    assert.equal(s.setBroadcast(false), undefined);
    assert.equal(s.setMulticastLoopback(true), true);
    assert.equal(s.setMulticastLoopback(false), false);
    await closeAll([s]);
  });

  test(`${type}: setMulticastInterface: unparsable address is an EINVAL system error`, async () => {
    const s = await boundSocket(dgram, type);
    assert.throws(() => s.setMulticastInterface('not an ip'), { code: 'EINVAL', syscall: 'setMulticastInterface', errno: -22 });
    assert.throws(() => s.setMulticastInterface(1), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.equal(s.setMulticastInterface(type === 'udp4' ? '0.0.0.0' : '::'), undefined);
    await closeAll([s]);
  });
}
