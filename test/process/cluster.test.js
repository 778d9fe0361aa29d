'use strict';
// cluster + dgram: the same scenario script (test/fixtures/process/
// cluster-scenario.js) runs under node:dgram and under udpkit (preloaded with
// -r dist/register.js, which cluster workers inherit through execArgv); the
// recorded outcomes must be the same.
const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const { runNode, resultOf, REGISTER_CJS } = require('../fixtures/process/run.js');

const SCRIPT = path.join(__dirname, '..', 'fixtures', 'process', 'cluster-scenario.js');

async function scenario(name, impl) {
  const args = impl === 'udpkit' ? ['-r', REGISTER_CJS, SCRIPT, name] : [SCRIPT, name];
  const run = await runNode(args);
  assert.strictEqual(run.code, 0, `${impl} ${name} exited ${run.code}: ${run.stderr}`);
  return resultOf(run);
}

// What may differ between runs: port numbers, which worker got which datagram,
// and the `udpkit=` marker (checked separately).
function normalize(result) {
  const r = structuredClone(result);
  for (const w of Object.values(r.workers)) {
    w.messages = w.messages.filter((m) => m.event !== 'message');
    for (const m of w.messages) {
      if (typeof m.port === 'number') m.port = 'P';
      if (m.error && typeof m.error.message === 'string') m.error.message = m.error.message.replace(/:\d+$/, ':P');
    }
    w.stdout = w.stdout.filter((l) => !l.startsWith('udpkit='));
  }
  return r;
}

function markers(result) {
  return Object.values(result.workers).map((w) => w.stdout.find((l) => l.startsWith('udpkit=')));
}

const SCENARIOS = {
  shared(r) {
    // A second worker binding the same port does not fail, both are on one
    // port, and every datagram reaches exactly one worker.
    assert.strictEqual(r.samePort, true);
    assert.strictEqual(r.everyDatagramArrivedOnce, true);
    assert.strictEqual(r.clusterListening.length, 2);
    assert.deepStrictEqual(r.clusterListening[0], { worker: 'w1', address: '127.0.0.1', addressType: 'udp4' });
  },
  'close-after-ten'(r) {
    // Each of four workers gets exactly 10 of the 40 datagrams on the shared
    // socket: none were read by a worker that closed before delivering them.
    assert.strictEqual(r.samePort, true);
    assert.strictEqual(r.timedOut, undefined, 'datagrams were lost: ' + JSON.stringify(Object.values(r.workers).map((w) => w.messages)));
    for (const w of Object.values(r.workers)) assert.deepStrictEqual(w.messages.find((m) => m.event === 'closed'), { event: 'closed', count: 10 });
  },
  exclusive(r) {
    const err = r.workers.w2.messages.find((m) => m.event === 'error').error;
    assert.strictEqual(err.code, 'EADDRINUSE');
    assert.strictEqual(err.syscall, 'bind');
    assert.strictEqual(r.clusterListening.length, 0, 'exclusive binds do not go through the primary');
  },
  'bind-error'(r) {
    const err = r.workers.w1.messages[0].error;
    assert.deepStrictEqual({ ...err, message: undefined }, { code: 'EADDRINUSE', errno: -98, syscall: 'bind', address: '127.0.0.1', port: true, message: undefined });
    assert.strictEqual(err.message, 'bind EADDRINUSE 127.0.0.1:PORT');
  },
  membership(r) {
    // The spec's note: addMembership on the shared socket in a second worker.
    assert.strictEqual(r.workers.w1.messages[0].outcome, 'ok');
    assert.strictEqual(r.workers.w2.messages[0].outcome.code, 'EADDRINUSE');
  },
  'close-during-bind'(r) {
    assert.deepStrictEqual(r.workers.w1.messages[0].firstSocketEvents, ['close']);
  },
  unref(r) {
    assert.deepStrictEqual(r.workers.w1.exit, { code: 0, signal: null, exitedAfterDisconnect: false });
    assert.deepStrictEqual(r.workers.w1.stdout.slice(1), ['exit 0']);
  },
  disconnect(r) {
    // Disconnect closes the worker's shared socket (its 'close' fires), not the exclusive one.
    assert.deepStrictEqual(r.workers.w1.stdout.slice(1), ['close shared', 'worker disconnect', 'close exclusive', 'exit 0']);
  },
  'worker-disconnect'(r) {
    assert.deepStrictEqual(r.workers.w1.stdout.slice(1), ['close', 'exit 0']);
  },
};

for (const [name, check] of Object.entries(SCENARIOS)) {
  test(`cluster ${name}: udpkit matches node:dgram`, { timeout: 60000 }, async () => {
    const [node, udpkit] = await Promise.all([scenario(name, 'node'), scenario(name, 'udpkit')]);
    assert.ok(markers(node).every((m) => m === 'udpkit=false'), 'node run used node:dgram');
    assert.ok(markers(udpkit).every((m) => m === 'udpkit=true'), 'udpkit run: every worker had udpkit');
    check(node);
    check(udpkit);
    assert.deepStrictEqual(normalize(udpkit), normalize(node));
  });
}
