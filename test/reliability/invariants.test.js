'use strict';
// Invariants of udpkit's Socket, whatever happens:
//  - every send() callback that node:dgram calls runs exactly once (success,
//    lookup failure, system error, close while the kernel pushes back);
//  - no 'message' after 'close'; a closed socket releases its descriptor;
//  - close() during bind, during a name lookup, inside 'listening' and inside
//    'message' is safe: no throw, no 'error', 'close' exactly once.
//
// Where node:dgram drops sends that close() overtakes (queued behind the bind,
// unconnected sends in the same tick, a lookup still pending), so does udpkit:
// their callbacks are never called and nothing is sent (compared with node:dgram
// below). A callback is never called twice, and never lost where node calls it:
//  - while blocked (SO_SNDBUF full) then close(): node and udpkit both call
//    every callback once, the ones still queued with ECANCELED.
//  - success, lookup failure (ENOTFOUND), EMSGSIZE: both once.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');
const { loadImpl, implSpecifier } = require('../helpers/impls.js');
const { withTimeout } = require('../helpers/util.js');

const dgram = loadImpl('udpkit');
const nodeDgram = require('node:dgram');
const LOOP = { udp4: '127.0.0.1', udp6: '::1' };
const once = (em, ev) => new Promise((res) => em.once(ev, res));
const turns = async (k = 5) => { for (let i = 0; i < k; i++) await new Promise(setImmediate); };

// Lookup: names ending in '.fail' fail (ENOTFOUND), names ending in '.later'
// are held until release(), anything else is loopback. Never real DNS.
function makeLookup() {
  const held = [];
  const lookup = (host, opts, cb) => {
    const family = typeof opts === 'number' ? opts : (opts && opts.family) || 4;
    const ip = family === 6 ? '::1' : '127.0.0.1';
    if (String(host).endsWith('.fail')) {
      process.nextTick(cb, Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND', errno: -3008, syscall: 'getaddrinfo', hostname: host }));
    } else if (String(host).endsWith('.later')) held.push(() => cb(null, ip, family));
    else process.nextTick(cb, null, ip, family);
  };
  lookup.release = () => { for (const f of held.splice(0)) f(); };
  lookup.held = () => held.length;
  return lookup;
}

// Records each send's callback invocations.
function tracker(n) {
  const calls = Array.from({ length: n }, () => []);
  let settled = 0; let resolveAll;
  const all = new Promise((r) => { resolveAll = r; });
  return {
    calls,
    all: withTimeout(all, `${n} send callbacks`),
    cb: (i) => (err, bytes) => {
      calls[i].push(err ? err.code : bytes);
      if (calls[i].length === 1 && ++settled === n) resolveAll();
    },
    assertExactlyOnce(expect) {
      calls.forEach((c, i) => {
        assert.equal(c.length, 1, `send #${i}: callback ran ${c.length} times (${JSON.stringify(c)})`);
        if (expect) assert.deepEqual(c[0], expect(i), `send #${i}`);
      });
    },
  };
}

async function sink(type) {
  const s = dgram.createSocket(type);
  s.got = [];
  s.on('message', (m) => s.got.push(m.toString()));
  s.bind(0, LOOP[type]);
  await withTimeout(once(s, 'listening'), 'listening');
  return s;
}
async function closeAndSettle(s) {
  const closed = once(s, 'close');
  s.close();
  await withTimeout(closed, 'close');
}

for (const type of ['udp4', 'udp6']) {
  const loop = LOOP[type];

  test(`${type}: send callbacks on success: once each, in order, (null, bytes)`, async () => {
    const rx = await sink(type);
    const tx = dgram.createSocket(type);
    const t = tracker(100);
    const order = [];
    for (let i = 0; i < 100; i++) tx.send(`m${i}`, rx.address().port, loop, (e, n) => { order.push(i); t.cb(i)(e, n); });
    await t.all;
    await turns();
    t.assertExactlyOnce((i) => `m${i}`.length);
    assert.deepEqual(order, [...order].sort((a, b) => a - b));
    await closeAndSettle(tx); await closeAndSettle(rx);
  });

  test(`${type}: lookup failure: callback once with ENOTFOUND; without a callback, one 'error'`, async () => {
    const rx = await sink(type);
    const tx = dgram.createSocket({ type, lookup: makeLookup() });
    const t = tracker(10);
    for (let i = 0; i < 10; i++) tx.send('x', rx.address().port, i % 2 ? 'nowhere.fail' : 'here.ok', t.cb(i));
    await t.all;
    await turns();
    t.assertExactlyOnce((i) => (i % 2 ? 'ENOTFOUND' : 1));
    const errors = [];
    tx.on('error', (e) => errors.push(e.code));
    tx.send('x', rx.address().port, 'again.fail');
    await withTimeout(once(tx, 'error'), "'error'");
    await turns();
    assert.deepEqual(errors, ['ENOTFOUND']);
    await closeAndSettle(tx); await closeAndSettle(rx);
  });

  test(`${type}: EMSGSIZE: callback once with the error, neighbours unaffected`, async () => {
    const rx = await sink(type);
    const tx = dgram.createSocket(type);
    const t = tracker(3);
    tx.send('a', rx.address().port, loop, t.cb(0));
    tx.send(Buffer.alloc(type === 'udp4' ? 65508 : 65528), rx.address().port, loop, t.cb(1));
    tx.send('c', rx.address().port, loop, t.cb(2));
    await t.all;
    await turns();
    t.assertExactlyOnce((i) => [1, 'EMSGSIZE', 1][i]);
    await closeAndSettle(tx); await closeAndSettle(rx);
  });

  // close() overtaking sends: node:dgram drops them (no callback, nothing sent); udpkit must too.
  // Each scenario runs on both; `settled` proves, with a marker datagram sent after everything
  // else, that nothing more can arrive, and a few loop turns that no callback is still coming.
  const overtaken = {
    'sends queued before listening (implicit bind)': async (impl, rx, cb) => {
      const tx = impl.createSocket(type);
      for (let i = 0; i < 5; i++) tx.send(`q${i}`, rx.address().port, loop, cb(i));
      await closeAndSettle(tx);
    },
    'sends queued while binding explicitly': async (impl, rx, cb) => {
      const tx = impl.createSocket(type);
      tx.bind(0, loop);
      for (let i = 0; i < 5; i++) tx.send('x', rx.address().port, loop, cb(i));
      await closeAndSettle(tx);
    },
    'close() right after send() on a bound socket': async (impl, rx, cb) => {
      const tx = impl.createSocket(type);
      tx.bind(0, loop);
      await once(tx, 'listening');
      for (let i = 0; i < 20; i++) tx.send(`d${i}`, rx.address().port, loop, cb(i));
      await closeAndSettle(tx);
    },
    "close() while a send's lookup is pending": async (impl, rx, cb) => {
      const lookup = makeLookup();
      const tx = impl.createSocket({ type, lookup });
      tx.bind(0, loop);
      await once(tx, 'listening');
      for (let i = 0; i < 3; i++) tx.send('x', rx.address().port, 'peer.later', cb(i));
      await turns(1);
      assert.equal(lookup.held(), 3);
      await closeAndSettle(tx);
      lookup.release();
    },
  };
  for (const [name, scenario] of Object.entries(overtaken)) {
    test(`${type}: ${name}, then close(): as node:dgram, no callback and nothing sent`, async () => {
      const outcome = async (impl) => {
        const rx = await sink(type);
        const calls = [];
        await scenario(impl, rx, (i) => (err) => calls.push(`${i}:${err ? err.code : 'ok'}`));
        const marker = await sink(type);
        const arrived = withTimeout(new Promise((r) => rx.on('message', (m) => String(m) === 'marker' && r())), 'marker');
        marker.send('marker', rx.address().port, loop);
        await arrived;
        await turns();
        await closeAndSettle(marker);
        await closeAndSettle(rx);
        return { calls, delivered: rx.got.filter((m) => m !== 'marker') };
      };
      const expected = await outcome(nodeDgram);
      assert.deepEqual(expected, { calls: [], delivered: [] }, 'node:dgram as recorded');
      assert.deepEqual(await outcome(dgram), expected);
    });
  }

  test(`${type}: no 'message' after 'close', closing from outside during a flood`, async () => {
    const rx = dgram.createSocket(type);
    rx.bind(0, loop);
    await once(rx, 'listening');
    const tx = dgram.createSocket(type);
    let closed = false; let after = 0; let seen = 0;
    rx.on('message', () => { seen++; if (closed) after++; });
    rx.on('close', () => { closed = true; });
    const first = once(rx, 'message');
    const port = rx.address().port;
    for (let i = 0; i < 2000; i++) tx.send('f', port, loop);
    await withTimeout(first, 'first message');
    rx.close();
    closed = true;
    await withTimeout(once(rx, 'close'), 'close').catch(() => {});
    await withTimeout(new Promise((r) => tx.send('late', port, loop, r)), 'late send');
    await turns(10);
    assert.equal(after, 0);
    assert.ok(seen >= 1);
    await closeAndSettle(tx);
  });
}

function fdCount() { return fs.readdirSync('/proc/self/fd').length; }

test('descriptors: 200 sockets bound and closed release every descriptor', async () => {
  console.log(''); // node opens /dev/null on the first write to a piped stdout: not ours
  await turns(1);
  const before = fdCount();
  const sockets = [];
  for (let i = 0; i < 200; i++) {
    const type = i % 2 ? 'udp6' : 'udp4';
    const s = dgram.createSocket(type);
    s.bind(0, LOOP[type]);
    sockets.push(s);
  }
  await withTimeout(Promise.all(sockets.map((s) => once(s, 'listening'))), 'listening');
  assert.ok(fdCount() >= before + 200);
  await withTimeout(Promise.all(sockets.map((s) => new Promise((r) => s.close(r)))), 'close');
  await turns();
  assert.equal(fdCount(), before);
});

for (const type of ['udp4', 'udp6']) {
  const loop = LOOP[type];
  // Watches a socket: 'close' count, errors, listening.
  function watch(s) {
    const w = { close: 0, errors: [], listening: 0 };
    s.on('close', () => w.close++);
    s.on('error', (e) => w.errors.push(e.code));
    s.on('listening', () => w.listening++);
    return w;
  }

  test(`${type}: close() during bind: no throw, no 'listening', 'close' once`, async () => {
    const s = dgram.createSocket(type);
    const w = watch(s);
    s.bind(0, loop);
    assert.doesNotThrow(() => s.close());
    await withTimeout(once(s, 'close'), 'close');
    await turns();
    assert.deepEqual(w, { close: 1, errors: [], listening: 0 });
  });

  test(`${type}: close() during the bind's name lookup (answer comes later): 'close' once, no 'listening'`, async () => {
    const lookup = makeLookup();
    const s = dgram.createSocket({ type, lookup });
    const w = watch(s);
    s.bind(0, 'me.later');
    await turns(1);
    assert.equal(lookup.held(), 1);
    assert.doesNotThrow(() => s.close());
    await withTimeout(once(s, 'close'), 'close');
    lookup.release();
    await turns();
    assert.deepEqual(w, { close: 1, errors: [], listening: 0 });
  });

  test(`${type}: close() inside 'listening': 'close' once, no error`, async () => {
    const s = dgram.createSocket(type);
    const w = watch(s);
    s.on('listening', () => assert.doesNotThrow(() => s.close()));
    s.bind(0, loop);
    await withTimeout(once(s, 'close'), 'close');
    await turns();
    assert.deepEqual(w, { close: 1, errors: [], listening: 1 });
  });

  test(`${type}: close() inside 'message' of a batch: 'close' once, no later 'message'`, async () => {
    const rx = dgram.createSocket(type);
    const w = watch(rx);
    rx.bind(0, loop);
    await once(rx, 'listening');
    let msgs = 0; let closed = false; let after = 0;
    rx.on('message', () => {
      if (closed) { after++; return; }
      msgs++;
      closed = true;
      assert.doesNotThrow(() => rx.close());
    });
    const tx = dgram.createSocket(type);
    const t = tracker(64);
    for (let i = 0; i < 64; i++) tx.send('b', rx.address().port, loop, t.cb(i)); // one batch
    await t.all;
    await withTimeout(once(rx, 'close'), 'close');
    await turns();
    assert.equal(msgs, 1);
    assert.equal(after, 0);
    assert.deepEqual(w, { close: 1, errors: [], listening: 1 });
    await closeAndSettle(tx);
  });
}

// While the kernel pushes back (SO_SNDBUF full): runs in a private network
// namespace with a rate-shaped loopback (faults.test.js is the child script).
const FAULTS = path.join(__dirname, 'faults.test.js');
const SHAPE = 'ip link set lo up && tc qdisc add dev lo root tbf rate 10mbit burst 16kb latency 2000ms';
const probe = spawnSync('unshare', ['-n', 'bash', '-c', SHAPE], { encoding: 'utf8' });
const shapedSkip = probe.error || probe.status !== 0 ? `no shaped network namespace: ${probe.error ? probe.error.message : probe.stderr.trim()}` : false;

test('close() while blocked on a full send buffer: every callback once (sent ones ok, the rest ECANCELED)', { skip: shapedSkip }, () => {
  const r = spawnSync('unshare', ['-n', 'bash', '-c', `${SHAPE} && exec "$0" "$1" --shaped-child "$2" closeWhileBlocked 500 1000`,
    process.execPath, FAULTS, implSpecifier('udpkit')], { encoding: 'utf8', timeout: 30000 });
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  assert.ok(out.blockedAtFirstTurn > 0, `never blocked: ${r.stdout}`);
  assert.equal(out.never, 0);
  assert.equal(out.dupes, 0);
  assert.equal(out.inOrder, true);
  assert.equal((out.calls.ok || 0) + (out.calls.ECANCELED || 0), 500, JSON.stringify(out.calls));
});
