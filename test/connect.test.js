'use strict';
// connect()/disconnect()/remoteAddress() and connected-socket sends.
const test = require('node:test');
const assert = require('node:assert/strict');
const os = require('node:os');
const dgram = require('./helpers/impl.js');
const { FAMILIES, LOOPBACK, FAMILY_NAME, nextEvent, collectMessages, boundSocket, closeAll, withTimeout } = require('./helpers/util.js');

for (const type of FAMILIES) {
  const loop = LOOPBACK[type];

  test(`${type}: connect emits 'connect' then calls the callback; remoteAddress is exact`, async () => {
    const peer = await boundSocket(dgram, type);
    const s = dgram.createSocket(type);
    const order = [];
    s.on('listening', () => order.push('listening'));
    s.on('connect', (...a) => order.push(`connect(${a.length})`));
    s.connect(peer.address().port, loop, (...a) => order.push(`callback(${a.length})`));
    assert.throws(() => s.remoteAddress(), { code: 'ERR_SOCKET_DGRAM_NOT_CONNECTED', message: 'Not connected' });
    await nextEvent(s, 'connect');
    await new Promise(setImmediate);
    assert.deepEqual(order, ['listening', 'connect(0)', 'callback(0)']);
    assert.deepEqual(s.remoteAddress(), { address: loop, family: FAMILY_NAME[type], port: peer.address().port });
    assert.equal(s.address().address, loop, 'a connected socket is bound to the route source address');
    await closeAll([peer, s]);
  });

  test(`${type}: connected send without address arrives; other senders are filtered`, async () => {
    const peer = await boundSocket(dgram, type);
    const s = dgram.createSocket(type);
    await withTimeout(new Promise((r) => s.connect(peer.address().port, r)), 'connect (default address)');
    assert.equal(s.remoteAddress().address, loop);
    const atPeer = collectMessages(peer, 3);
    const [e1, n1] = await withTimeout(new Promise((r) => s.send('one', (...a) => r(a))), 'cb');
    assert.deepEqual([e1, n1], [null, 3]);
    s.send(Buffer.from('xtwox'), 1, 3);
    s.send(['thr', 'ee']);
    const msgs = await atPeer;
    assert.deepEqual(msgs.map((m) => m.msg.toString()), ['one', 'two', 'three']);
    assert.equal(msgs[0].rinfo.port, s.address().port);

    // replies from the peer arrive; a datagram from a third socket does not
    const stranger = await boundSocket(dgram, type);
    const got = [];
    s.on('message', (m) => got.push(m.toString()));
    const received = collectMessages(s, 2);
    stranger.send('stranger', s.address().port, loop);
    // stranger's datagram is delivered (or not) before the peer's two replies, which are sent after it
    await withTimeout(new Promise((r) => stranger.send('sync', peer.address().port, loop, r)), 'stranger send');
    await nextEvent(peer, 'message');
    peer.send('r1', s.address().port, loop);
    peer.send('r2', s.address().port, loop);
    await received;
    assert.deepEqual(got, ['r1', 'r2']);
    await closeAll([peer, s, stranger]);
  });

  test(`${type}: sending with an address on a connected socket throws ERR_SOCKET_DGRAM_IS_CONNECTED`, async () => {
    const peer = await boundSocket(dgram, type);
    const s = dgram.createSocket(type);
    await withTimeout(new Promise((r) => s.connect(peer.address().port, loop, r)), 'connect');
    // (without a callback, node reads send(msg, a, b) on a connected socket as msg/offset/length)
    assert.throws(() => s.send('x', peer.address().port, loop, () => {}), { code: 'ERR_SOCKET_DGRAM_IS_CONNECTED', message: 'Already connected' });
    assert.throws(() => s.connect(peer.address().port, loop), { code: 'ERR_SOCKET_DGRAM_IS_CONNECTED', message: 'Already connected' });
    await closeAll([peer, s]);
  });

  test(`${type}: disconnect, then sends need an address again`, async () => {
    const peer = await boundSocket(dgram, type);
    const other = await boundSocket(dgram, type);
    const s = dgram.createSocket(type);
    await withTimeout(new Promise((r) => s.connect(peer.address().port, loop, r)), 'connect');
    assert.equal(s.disconnect(), undefined);
    assert.throws(() => s.remoteAddress(), { code: 'ERR_SOCKET_DGRAM_NOT_CONNECTED' });
    assert.throws(() => s.disconnect(), { code: 'ERR_SOCKET_DGRAM_NOT_CONNECTED' });
    assert.throws(() => s.send('x'), { code: 'ERR_SOCKET_BAD_PORT' });
    const got = nextEvent(other, 'message');
    s.send('after', other.address().port, loop);
    const [m] = await got;
    assert.equal(m.toString(), 'after');
    // reconnect works after disconnect
    await withTimeout(new Promise((r) => s.connect(other.address().port, loop, r)), 'reconnect');
    assert.equal(s.remoteAddress().port, other.address().port);
    await closeAll([peer, other, s]);
  });

  test(`${type}: connect failure (lookup) goes to the callback, not 'connect'`, async () => {
    const lookupErr = Object.assign(new Error('nope'), { code: 'ENOTFOUND' });
    const s = dgram.createSocket({
      type,
      lookup: (h, o, cb) => setImmediate(() => (h === 'bad.invalid' ? cb(lookupErr) : cb(null, h, type === 'udp4' ? 4 : 6))),
    });
    let connected = false;
    s.on('connect', () => { connected = true; });
    const [err] = await withTimeout(new Promise((r) => s.connect(9, 'bad.invalid', (...a) => r(a))), 'connect callback');
    assert.equal(err, lookupErr);
    assert.equal(connected, false);
    assert.throws(() => s.remoteAddress(), { code: 'ERR_SOCKET_DGRAM_NOT_CONNECTED' });
    await closeAll([s]);
  });

  test(`${type}: ECONNREFUSED on a connected socket after sending to a closed port`, async () => {
    const dead = await boundSocket(dgram, type);
    const port = dead.address().port;
    await closeAll([dead]);
    const s = dgram.createSocket(type);
    await withTimeout(new Promise((r) => s.connect(port, loop, r)), 'connect');
    const errorEvent = nextEvent(s, 'error');
    errorEvent.catch(() => {});
    const seq = [];
    const cb = (label) => (err, n) => seq.push([label, err ? err.code : null, err ? err.syscall : n]);
    await withTimeout(new Promise((r) => s.send('a', (...a) => { cb('first')(...a); r(); })), 'first');
    let second;
    await withTimeout(new Promise((r) => s.send('b', (...a) => { second = a[0]; cb('second')(...a); r(); })), 'second');
    await withTimeout(new Promise((r) => s.send('c', (...a) => { cb('third')(...a); r(); })), 'third');
    // node: the pending ICMP error fails the second send; the third one's error
    // is picked up by the receive side and emitted as an 'error' event
    assert.deepEqual(seq, [['first', null, 1], ['second', 'ECONNREFUSED', 'send'], ['third', null, 1]]);
    assert.equal(second.errno, -os.constants.errno.ECONNREFUSED);
    assert.equal(second.message, 'send ECONNREFUSED');
    assert.equal(second.address, undefined);
    assert.equal(second.port, undefined);
    const [evErr] = await errorEvent;
    assert.equal(evErr.code, 'ECONNREFUSED');
    assert.equal(evErr.errno, -os.constants.errno.ECONNREFUSED);
    assert.equal(evErr.syscall, 'recvmsg');
    assert.equal(evErr.message, 'recvmsg ECONNREFUSED');
    await closeAll([s]);
  });
}

test('udp4: connect to "localhost"', async () => {
  const peer = await boundSocket(dgram, 'udp4');
  const s = dgram.createSocket('udp4');
  await withTimeout(new Promise((r) => s.connect(peer.address().port, 'localhost', r)), 'connect');
  assert.deepEqual(s.remoteAddress(), { address: '127.0.0.1', family: 'IPv4', port: peer.address().port });
  await closeAll([peer, s]);
});
