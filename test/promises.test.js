'use strict';
// udpkit/promises on real loopback sockets. Synchronisation is by events and
// promises only (no sleeps), and nothing asserts on timing.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');

const DIST = process.env.UDPKIT_DIST || path.resolve(__dirname, '..', 'dist');
const { createSocket, PromiseSocket, AbortError } = require(path.join(DIST, 'promises.js'));

const LO = '127.0.0.1';

function payload(i) {
  return Buffer.from(`datagram-${String(i).padStart(5, '0')}`);
}

test('createSocket binds and resolves with a listening PromiseSocket', async () => {
  const s = await createSocket({ type: 'udp4', address: LO });
  try {
    assert.ok(s instanceof PromiseSocket);
    const a = s.address();
    assert.equal(a.address, LO);
    assert.equal(a.family, 'IPv4');
    assert.ok(a.port > 0);
    assert.equal(typeof s.socket.sendMany, 'function');
  } finally {
    await s.close();
  }
});

test('createSocket accepts a type string', async () => {
  const s = await createSocket('udp4');
  assert.ok(s.address().port > 0);
  await s.close();
});

test('createSocket rejects with the bind error and closes the socket', async () => {
  const a = await createSocket({ type: 'udp4', address: LO });
  try {
    await assert.rejects(createSocket({ type: 'udp4', address: LO, port: a.address().port }), (err) => {
      assert.equal(err.code, 'EADDRINUSE');
      return true;
    });
  } finally {
    await a.close();
  }
});

test('send/receive: datagrams arrive in order with their sender', async () => {
  const rx = await createSocket({ type: 'udp4', address: LO });
  const tx = await createSocket({ type: 'udp4', address: LO });
  const N = 200;
  const port = rx.address().port;
  const sending = (async () => {
    for (let i = 0; i < N; i++) {
      const n = await tx.send(payload(i), port, LO);
      assert.equal(n, payload(i).length);
    }
  })();
  let i = 0;
  for await (const m of rx) {
    assert.deepEqual(m.data, payload(i));
    assert.equal(m.address, LO);
    assert.equal(m.port, tx.address().port);
    assert.equal(m.family, 'IPv4');
    assert.equal(m.size, payload(i).length);
    if (++i === N) break;
  }
  await sending;
  // Breaking out of the loop does not close the socket.
  assert.equal(rx.closed, false);
  await tx.send('still open', port, LO);
  const it = rx[Symbol.asyncIterator]();
  const { value } = await it.next();
  assert.equal(value.data.toString(), 'still open');
  await Promise.all([rx.close(), tx.close()]);
});

test('sendMany resolves with the count; batches() yields arrays of every datagram once', async () => {
  const rx = await createSocket({ type: 'udp4', address: LO, recvBufferSize: 4 << 20 });
  const tx = await createSocket({ type: 'udp4', address: LO });
  const N = 300;
  const port = rx.address().port;
  const list = [];
  for (let i = 0; i < N; i++) list.push({ data: payload(i), port, address: LO });
  assert.equal(await tx.sendMany(list), N);
  const seen = [];
  for await (const batch of rx.batches()) {
    assert.ok(Array.isArray(batch) && batch.length >= 1);
    for (const m of batch) seen.push(m.data.toString());
    if (seen.length >= N) break;
  }
  assert.deepEqual(seen, list.map((e) => e.data.toString()));
  await Promise.all([rx.close(), tx.close()]);
});

test('connect() then send without an address; remoteAddress()', async () => {
  const rx = await createSocket({ type: 'udp4', address: LO });
  const tx = await createSocket({ type: 'udp4', address: LO });
  await tx.connect(rx.address().port, LO);
  assert.equal(tx.remoteAddress().port, rx.address().port);
  assert.equal(await tx.send('hello'), 5);
  const { value } = await rx.messages().next();
  assert.equal(value.data.toString(), 'hello');
  await Promise.all([rx.close(), tx.close()]);
});

test('backpressure: a full queue pauses receiving, draining below half resumes it', async () => {
  const HWM = 8;
  const N = 40;
  const rx = await createSocket({ type: 'udp4', address: LO, highWaterMark: HWM, recvBufferSize: 1 << 20 });
  const tx = await createSocket({ type: 'udp4', address: LO });
  const raw = rx.socket;
  const calls = [];
  let onPause;
  const paused = new Promise((resolve) => (onPause = resolve));
  const origPause = raw.pauseReceiving.bind(raw);
  const origResume = raw.resumeReceiving.bind(raw);
  raw.pauseReceiving = () => {
    calls.push(['pause', rx.queuedCount]);
    origPause();
    onPause();
  };
  raw.resumeReceiving = () => {
    calls.push(['resume', rx.queuedCount]);
    origResume();
  };
  const port = rx.address().port;
  const list = [];
  for (let i = 0; i < N; i++) list.push({ data: payload(i), port, address: LO });
  await tx.sendMany(list);

  // Nobody consumes: the queue fills to the high water mark and the socket pauses.
  await paused;
  assert.equal(rx.receivingPaused, true);
  assert.ok(rx.queuedCount >= HWM, `queued ${rx.queuedCount}`);
  assert.deepEqual(calls[0][0], 'pause');

  // A slow consumer: one datagram at a time. All N arrive, in order, none lost:
  // the rest waited in the kernel buffer while paused.
  const it = rx.messages();
  for (let i = 0; i < N; i++) {
    const { value } = await it.next();
    assert.equal(value.data.toString(), payload(i).toString());
  }
  const resumes = calls.filter((c) => c[0] === 'resume');
  assert.ok(resumes.length >= 1, 'resumed after draining');
  for (const [, queued] of resumes) assert.ok(queued < HWM / 2, `resumed at ${queued}`);
  assert.equal(rx.receivingPaused, false);
  assert.ok(rx.pauseCount >= 1);
  assert.equal(typeof rx.droppedCount, 'number');
  await Promise.all([rx.close(), tx.close()]);
});

test('abort before open rejects with AbortError and no socket', async () => {
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(createSocket({ type: 'udp4', address: LO, signal: ac.signal }), (err) => {
    assert.equal(err.name, 'AbortError');
    assert.equal(err.code, 'ABORT_ERR');
    assert.ok(err instanceof AbortError);
    return true;
  });
});

test('abort during open rejects with AbortError', async () => {
  const ac = new AbortController();
  const p = createSocket({ type: 'udp4', address: 'localhost', signal: ac.signal });
  ac.abort(new Error('stop'));
  await assert.rejects(p, (err) => {
    assert.equal(err.name, 'AbortError');
    assert.equal(err.code, 'ABORT_ERR');
    assert.equal(err.cause.message, 'stop');
    return true;
  });
});

test('abort on receive rejects the pending next() and leaves the socket open', async () => {
  const rx = await createSocket({ type: 'udp4', address: LO });
  const ac = new AbortController();
  const it = rx.messages({ signal: ac.signal });
  const pending = it.next();
  ac.abort();
  await assert.rejects(pending, { name: 'AbortError', code: 'ABORT_ERR' });
  assert.deepEqual(await it.next(), { done: true, value: undefined });
  assert.equal(rx.closed, false);
  // Another reader still gets datagrams.
  const tx = await createSocket({ type: 'udp4', address: LO });
  await tx.send('after abort', rx.address().port, LO);
  const { value } = await rx.messages().next();
  assert.equal(value.data.toString(), 'after abort');
  await Promise.all([rx.close(), tx.close()]);
});

test('abort on send: an aborted signal rejects and sends nothing', async () => {
  const rx = await createSocket({ type: 'udp4', address: LO });
  const tx = await createSocket({ type: 'udp4', address: LO });
  const ac = new AbortController();
  ac.abort();
  const port = rx.address().port;
  await assert.rejects(tx.send('never', port, LO, { signal: ac.signal }), { name: 'AbortError', code: 'ABORT_ERR' });
  await tx.send('first', port, LO, { signal: new AbortController().signal });
  const { value } = await rx.messages().next();
  assert.equal(value.data.toString(), 'first');
  await Promise.all([rx.close(), tx.close()]);
});

test('close while iterating ends the loop', async () => {
  const rx = await createSocket({ type: 'udp4', address: LO });
  const tx = await createSocket({ type: 'udp4', address: LO });
  let got = 0;
  let firstArrived;
  const arrived = new Promise((resolve) => (firstArrived = resolve));
  const loop = (async () => {
    for await (const m of rx) {
      assert.equal(m.data.toString(), 'one');
      got++;
      firstArrived();
    }
    return 'ended';
  })();
  await tx.send('one', rx.address().port, LO);
  await arrived;
  await rx.close();
  assert.equal(await loop, 'ended');
  assert.equal(got, 1);
  assert.equal(rx.closed, true);
  // Iterating a closed socket ends at once; close() again is harmless.
  for await (const _ of rx) assert.fail('no datagrams after close');
  await rx.close();
  await tx.close();
});

test("an 'error' rejects the pending next()", async () => {
  const rx = await createSocket({ type: 'udp4', address: LO });
  const it = rx.messages();
  const pending = it.next();
  rx.socket.emit('error', new Error('boom'));
  await assert.rejects(pending, /boom/);
  await rx.close();
});

test('await using closes the socket at the end of the scope', async () => {
  // Node 20 cannot parse `await using` yet: TypeScript lowers it here.
  const ts = require('typescript');
  const src = `
    async function run(createSocket) {
      let inner;
      {
        await using s = await createSocket({ type: 'udp4', address: '127.0.0.1' });
        inner = s;
        if (s.closed) throw new Error('closed too early');
      }
      return inner;
    }
    module.exports = run;`;
  const { outputText } = ts.transpileModule(src, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS },
  });
  const m = { exports: {} };
  new Function('module', 'exports', 'require', outputText)(m, m.exports, require);
  const s = await m.exports(createSocket);
  assert.equal(s.closed, true);
});

test('bad arguments are rejected', async () => {
  await assert.rejects(createSocket({ type: 'udp4', highWaterMark: 0 }), { code: 'ERR_OUT_OF_RANGE' });
  await assert.rejects(createSocket({ type: 'udp4', signal: 'nope' }), { code: 'ERR_INVALID_ARG_TYPE' });
});

test('a send that close() overtakes rejects with ERR_SOCKET_DGRAM_NOT_RUNNING instead of staying pending', { timeout: 10000 }, async () => {
  const s = await createSocket({ type: 'udp4', address: LO });
  const sent = s.send('late', 9, LO);
  const closed = s.close();
  await assert.rejects(sent, { code: 'ERR_SOCKET_DGRAM_NOT_RUNNING' });
  await closed;
});

test('awaiting the send before close() sends the datagram', async () => {
  const rx = await createSocket({ type: 'udp4', address: LO });
  const tx = await createSocket({ type: 'udp4', address: LO });
  assert.equal(await tx.send('first', rx.address().port, LO), 5);
  await tx.close();
  const it = rx[Symbol.asyncIterator]();
  assert.equal(String((await it.next()).value.data), 'first');
  await rx.close();
});
