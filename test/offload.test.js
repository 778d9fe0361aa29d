'use strict';
// Segmentation offload: same-size runs to one destination leave as one GSO
// send and coalesced receives are split again. None of it may show: every
// datagram arrives separately, intact and in order, at a udpkit receiver
// (which splits GRO) and at a node:dgram one (whose kernel splits for it),
// with offload on and off (UDPKIT_OFFLOAD=0).
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const nodeDgram = require('node:dgram');
const udpkit = require('../dist/index.js');
const { nativePlatform } = require('../dist/datapath/native.js');
const { collectMessages, boundSocket, closeAll } = require('./helpers/util.js');

// Runs of equal sizes, a shorter datagram closing a run, empty datagrams,
// scatter/gather chunks, and a run longer than one offload send (64
// segments). Each phase leaves in one tick and is awaited before the next, so
// what is in flight always fits the default receive buffer.
function phases() {
  let n = 0;
  const make = (size, chunks = 1) => {
    const body = Buffer.alloc(size);
    for (let i = 0; i < size; i++) body[i] = (n * 31 + i) & 0xff;
    if (size >= 4) body.writeUInt32BE(n, 0);
    n++;
    return chunks === 1 ? body : [body.subarray(0, size >> 1), body.subarray(size >> 1)];
  };
  const run = (count, size, chunks) => Array.from({ length: count }, () => make(size, chunks));
  return [
    [...run(70, 100), make(40), ...run(3, 0), make(7)],
    [...run(30, 1200, 2), make(1199), make(1)],
    [...run(4, 9000), ...Array.from({ length: 10 }, (_, i) => make(i % 2 ? 64 : 65))],
  ];
}
const flat = (payload) => (Array.isArray(payload) ? Buffer.concat(payload) : payload);

async function sendPhase(tx, payloads, port, loop, viaSendMany) {
  if (viaSendMany) {
    return new Promise((resolve, reject) => tx.sendMany(payloads.map((data) => ({ data, port, address: loop })),
      (err, sent) => (err ? reject(err) : resolve(assert.equal(sent, payloads.length)))));
  }
  let calls = 0;
  return new Promise((resolve, reject) => {
    for (const p of payloads) {
      tx.send(p, port, loop, (err, bytes) => {
        if (err) return reject(err);
        assert.equal(bytes, flat(p).length);
        if (++calls === payloads.length) resolve();
      });
    }
  });
}

async function roundTrip(receiverImpl, type, viaSendMany) {
  const loop = type === 'udp4' ? '127.0.0.1' : '::1';
  const rx = await boundSocket(receiverImpl, type);
  rx.setRecvBufferSize(2 << 20); // sender and receiver share this process: a phase must fit
  const tx = await boundSocket(udpkit, type);
  const port = rx.address().port;
  for (const payloads of phases()) {
    const got = collectMessages(rx, payloads.length);
    await sendPhase(tx, payloads, port, loop, viaSendMany);
    const messages = await got;
    assert.deepEqual(messages.map(({ msg }) => msg.toString('hex')), payloads.map((p) => flat(p).toString('hex')));
    for (const { msg, rinfo } of messages) {
      assert.equal(rinfo.size, msg.length);
      assert.equal(rinfo.port, tx.address().port);
      assert.equal(msg.buffer.byteLength, msg.length);
    }
  }
  await closeAll([rx, tx]);
}

test('the platform reports whether segmentation offload is in use', () => {
  assert.equal(typeof nativePlatform().segmentationOffload, 'boolean');
});

for (const type of ['udp4', 'udp6']) {
  for (const [name, impl] of [['udpkit', udpkit], ['node:dgram', nodeDgram]]) {
    test(`${type}: a burst of send() datagrams reaches a ${name} receiver separately, intact, in order`, () =>
      roundTrip(impl, type, false));
    test(`${type}: sendMany() reaches a ${name} receiver separately, intact, in order`, () =>
      roundTrip(impl, type, true));
  }
}

const childRun = process.env.UDPKIT_OFFLOAD_CHILD === '1';

test('with UDPKIT_OFFLOAD=0 the same traffic arrives the same way', { skip: childRun && 'this is the child run' }, () => {
  const env = { ...process.env, UDPKIT_OFFLOAD: '0', UDPKIT_OFFLOAD_CHILD: '1' };
  delete env.NODE_TEST_CONTEXT; // a plain run of its own, with its own report
  const res = spawnSync(process.execPath, ['--test', '--test-reporter=tap', __filename], { env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(res.status, 0, res.stdout + res.stderr);
  assert.doesNotMatch(res.stdout, /^# pass 0$/m);
  assert.match(res.stdout, /^# fail 0$/m);
});

test('UDPKIT_OFFLOAD=0 turns offload off', { skip: !childRun && 'only in the child run' }, () => {
  assert.equal(nativePlatform().segmentationOffload, false);
});

// A pending socket error (an ICMP port unreachable on a connected socket) is
// consumed by the next send. With offload that send is a whole run: the
// error must still reach its first datagram, as in node:dgram, not vanish in
// a retry. (Which later datagrams of a batch meet the ICMPs that their own
// sends provoke differs: node makes one system call per datagram, udpkit one
// per batch; docs/api.md says so.)
for (const type of ['udp4', 'udp6']) {
  test(`${type}: a pending ECONNREFUSED reaches the first datagram of a burst, as in node:dgram`, async () => {
    const loop = type === 'udp4' ? '127.0.0.1' : '::1';
    const outcome = async (impl) => {
      const closed = await boundSocket(impl, type);
      const port = closed.address().port;
      await closeAll([closed]);
      const s = impl.createSocket(type);
      s.on('error', () => {}); // a 'recvmsg ECONNREFUSED' may follow; not what this test is about
      await new Promise((resolve) => s.connect(port, loop, resolve));
      const results = await new Promise((resolve) => {
        s.send('first', () => {
          // The ICMP arrived during that send: the error is pending now, before any poll.
          const got = [];
          for (const text of ['aaaa', 'bbbb', 'cccc']) {
            s.send(text, (err) => {
              got.push(err ? `${err.code} ${err.syscall}` : 'ok');
              if (got.length === 3) resolve(got);
            });
          }
        });
      });
      await closeAll([s]);
      return results;
    };
    for (const results of [await outcome(nodeDgram), await outcome(udpkit)]) {
      assert.deepEqual(results.slice(0, 2), ['ECONNREFUSED send', 'ok']);
      assert.ok(['ok', 'ECONNREFUSED send'].includes(results[2]));
    }
  });
}
