'use strict';
// close(): callback and 'close' once, no messages after, close at awkward
// moments, send after close, Symbol.asyncDispose, AbortSignal.
const test = require('node:test');
const assert = require('node:assert/strict');
const dgram = require('./helpers/impl.js');
const { FAMILIES, LOOPBACK, nextEvent, boundSocket, closeAll, withTimeout } = require('./helpers/util.js');

const NOT_RUNNING = { code: 'ERR_SOCKET_DGRAM_NOT_RUNNING', name: 'Error', message: 'Not running' };
const tick = () => new Promise(setImmediate);

for (const type of FAMILIES) {
  const loop = LOOPBACK[type];

  test(`${type}: close callback and 'close' event, each exactly once`, async () => {
    const s = await boundSocket(dgram, type);
    const calls = [];
    s.on('close', (...a) => calls.push(`event(${a.length})`));
    const ret = s.close((...a) => calls.push(`callback(${a.length})`));
    assert.equal(ret, s);
    assert.throws(() => s.close(), NOT_RUNNING);
    await nextEvent(s, 'close');
    await tick();
    await tick();
    assert.deepEqual(calls, ['event(0)', 'callback(0)']);
  });

  test(`${type}: close of a never-bound socket emits 'close'`, async () => {
    const s = dgram.createSocket(type);
    const p = nextEvent(s, 'close');
    s.close();
    await p;
    assert.throws(() => s.bind(0), NOT_RUNNING);
  });

  test(`${type}: no 'message' after close, even if a datagram was in flight`, async () => {
    const rx = await boundSocket(dgram, type);
    const tx = await boundSocket(dgram, type);
    let after = 0;
    let closed = false;
    rx.on('message', () => { if (closed) after++; });
    const port = rx.address().port;
    await withTimeout(new Promise((r) => tx.send('x', port, loop, r)), 'send');
    rx.close();
    closed = true;
    await nextEvent(rx, 'close');
    await withTimeout(new Promise((r) => tx.send('y', port, loop, () => r())), 'send after');
    await tick();
    assert.equal(after, 0);
    await closeAll([tx]);
  });

  test(`${type}: close while binding: 'close', no 'listening', no bind callback`, async () => {
    const s = dgram.createSocket(type);
    const ev = [];
    s.on('listening', () => ev.push('listening'));
    s.on('error', (e) => ev.push(`error:${e.code}`));
    s.bind(0, loop, () => ev.push('bind-callback'));
    s.close(() => ev.push('close-callback'));
    await nextEvent(s, 'close');
    await tick();
    await tick();
    assert.deepEqual(ev, ['close-callback']);
  });

  test(`${type}: close inside 'listening'`, async () => {
    const s = dgram.createSocket(type);
    const ev = [];
    s.on('listening', () => { ev.push('listening'); s.close(); });
    s.on('close', () => ev.push('close'));
    s.bind(0, loop);
    await nextEvent(s, 'close');
    assert.deepEqual(ev, ['listening', 'close']);
    assert.throws(() => s.address(), NOT_RUNNING);
  });

  test(`${type}: close inside 'message' stops further messages`, async () => {
    const rx = await boundSocket(dgram, type);
    const tx = await boundSocket(dgram, type);
    const got = [];
    rx.on('message', (m) => { got.push(m.toString()); rx.close(); });
    const closed = nextEvent(rx, 'close');
    const port = rx.address().port;
    tx.send('1', port, loop);
    tx.send('2', port, loop);
    tx.send('3', port, loop);
    await closed;
    await withTimeout(new Promise((r) => tx.send('4', port, loop, () => r())), 'send');
    await tick();
    assert.deepEqual(got, ['1']);
    await closeAll([tx]);
  });

  test(`${type}: send after close throws synchronously`, async () => {
    const fresh = dgram.createSocket(type);
    fresh.close();
    assert.throws(() => fresh.send('x', 9, loop), NOT_RUNNING, 'closed, never bound');
    const s = await boundSocket(dgram, type);
    await closeAll([s]);
    // node 20 throws a TypeError from its internals here (handle already gone);
    // the differential table pins the exact error, this only requires a throw
    let called = false;
    assert.throws(() => s.send('x', 9, loop, () => { called = true; }), Error);
    await tick();
    assert.equal(called, false, 'no callback after a synchronous throw');
    assert.throws(() => s.address(), NOT_RUNNING);
  });

  test(`${type}: Symbol.asyncDispose closes and resolves after 'close'`, async () => {
    const s = await boundSocket(dgram, type);
    let closedEvent = false;
    s.on('close', () => { closedEvent = true; });
    const ret = await withTimeout(s[Symbol.asyncDispose](), 'asyncDispose');
    assert.equal(ret, undefined);
    assert.equal(closedEvent, true);
    assert.throws(() => s.address(), NOT_RUNNING);
  });

  test(`${type}: signal aborted after bind closes the socket`, async () => {
    const ac = new AbortController();
    const s = dgram.createSocket({ type, signal: ac.signal });
    await withTimeout(new Promise((r) => s.bind(0, loop, r)), 'bind');
    const closed = nextEvent(s, 'close');
    ac.abort();
    await closed;
    assert.throws(() => s.address(), NOT_RUNNING);
  });

  test(`${type}: signal aborted before bind: close emitted, bind throws`, async () => {
    const ac = new AbortController();
    const s = dgram.createSocket({ type, signal: ac.signal });
    const closed = nextEvent(s, 'close');
    ac.abort();
    await closed;
    assert.throws(() => s.bind(0, loop), NOT_RUNNING);
  });

  test(`${type}: already-aborted signal at creation closes the socket`, async () => {
    const s = dgram.createSocket({ type, signal: AbortSignal.abort() });
    let listened = false;
    s.on('listening', () => { listened = true; });
    await nextEvent(s, 'close');
    assert.equal(listened, false);
    assert.throws(() => s.send('x', 9, loop), NOT_RUNNING);
  });
}
