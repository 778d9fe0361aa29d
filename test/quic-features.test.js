'use strict';
// Issue 12's datapath features on loopback: receive options and the rinfo
// fields they add, sendMany's source/ecn/segmentSize, TOS, don't-fragment,
// path MTU, the 'icmp' event and udpkit/capabilities. (127.0.0.2 answers on
// lo too; a closed port on 127.0.0.1 answers ICMP port unreachable.)
// Synchronisation by events only; timeouts only fail a test.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const dgram = require('node:dgram');
const { nextEvent, collectMessages, withTimeout, closeAll } = require('./helpers/util.js');

const DIST = process.env.UDPKIT_DIST || path.resolve(__dirname, '..', 'dist');
const udpkit = require(path.join(DIST, 'index.js'));
const { capabilities } = require(path.join(DIST, 'capabilities.js'));
const caps = capabilities();
const LO_INDEX = Number(fs.readFileSync('/sys/class/net/lo/ifindex', 'utf8'));

async function bound(options, address) {
  const s = udpkit.createSocket(options);
  const listening = nextEvent(s, 'listening');
  s.bind(0, address);
  await listening;
  return s;
}

// A port nobody listens on: bound, then closed.
async function closedPort(type = 'udp4', address = '127.0.0.1') {
  const s = dgram.createSocket(type);
  await new Promise((r) => s.bind(0, address, r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

function sendMany(s, list) {
  return new Promise((resolve, reject) => s.sendMany(list, (err, n) => (err ? reject(err) : resolve(n))));
}

test('capabilities(): the eight named booleans, from udpkit/capabilities, not the main module', () => {
  assert.deepEqual(Object.keys(caps).sort(),
    ['dontFragment', 'ecn', 'gro', 'gso', 'mmsg', 'packetInfo', 'recvErrors', 'timestamps']);
  for (const v of Object.values(caps)) assert.equal(typeof v, 'boolean');
  // A copy each time: the caller cannot change what others see.
  capabilities().gso = 'changed';
  assert.deepEqual(capabilities(), caps);
  // Not a key of the main module, whose shape is node:dgram's (module-shape tests check the rest).
  assert.equal(Object.prototype.hasOwnProperty.call(udpkit, 'capabilities'), false);
});

test('without the options rinfo has exactly node:dgram\'s fields, ', async () => {
  const rx = await bound({ type: 'udp4' }, '127.0.0.1');
  const tx = await bound({ type: 'udp4' }, '127.0.0.1');
  const got = collectMessages(rx, 1);
  tx.send('plain', rx.address().port, '127.0.0.1');
  const [{ rinfo }] = await got;
  assert.deepEqual(Object.keys(rinfo), ['address', 'family', 'port', 'size']);
  await closeAll([rx, tx]);
});

test('options are checked: booleans only', () => {
  for (const name of ['recvPacketInfo', 'recvEcn', 'recvTimestamps', 'recvErrors']) {
    assert.throws(() => udpkit.createSocket({ type: 'udp4', [name]: 1 }),
      { code: 'ERR_INVALID_ARG_TYPE', message: new RegExp(`options\\.${name}`) });
  }
});

test('recvPacketInfo: destination and interfaceIndex on a wildcard socket (127.0.0.1 and 127.0.0.2)', { skip: !caps.packetInfo && 'no packet info' }, async () => {
  const rx = await bound({ type: 'udp4', recvPacketInfo: true }, '0.0.0.0');
  const tx = await bound({ type: 'udp4' }, '127.0.0.1');
  const port = rx.address().port;
  const got = collectMessages(rx, 2);
  await sendMany(tx, [{ data: 'one', port, address: '127.0.0.1' }, { data: 'two', port, address: '127.0.0.2' }]);
  const msgs = await got;
  assert.deepEqual(msgs.map(({ msg, rinfo }) => [msg.toString(), rinfo]), [
    ['one', { address: '127.0.0.1', family: 'IPv4', port: tx.address().port, size: 3, destination: '127.0.0.1', interfaceIndex: LO_INDEX }],
    ['two', { address: '127.0.0.1', family: 'IPv4', port: tx.address().port, size: 3, destination: '127.0.0.2', interfaceIndex: LO_INDEX }],
  ]);
  await closeAll([rx, tx]);
});

test('recvPacketInfo on udp6: ::1, and v4-mapped destinations on a dual-stack socket', { skip: !caps.packetInfo && 'no packet info' }, async () => {
  const rx = await bound({ type: 'udp6', recvPacketInfo: true }, '::');
  const port = rx.address().port;
  const tx6 = await bound({ type: 'udp6' }, '::1');
  const tx4 = await bound({ type: 'udp4' }, '127.0.0.1');
  const got = collectMessages(rx, 2);
  tx6.send('six', port, '::1');
  await nextEvent(rx, 'message');
  tx4.send('four', port, '127.0.0.2');
  const msgs = await got;
  assert.deepEqual(msgs.map(({ msg, rinfo }) => [msg.toString(), rinfo.address, rinfo.destination, rinfo.interfaceIndex]), [
    ['six', '::1', '::1', LO_INDEX],
    ['four', '::ffff:127.0.0.1', '::ffff:127.0.0.2', LO_INDEX],
  ]);
  await closeAll([rx, tx6, tx4]);
});

test('sendMany source: a wildcard server answers from the address each client used', { skip: !caps.packetInfo && 'no packet info' }, async () => {
  const server = await bound({ type: 'udp4', recvPacketInfo: true }, '0.0.0.0');
  server.on('message', (msg, rinfo) => {
    server.sendMany([
      { data: 'with source', port: rinfo.port, address: rinfo.address, source: rinfo.destination },
      { data: 'without', port: rinfo.port, address: rinfo.address },
    ]);
  });
  const client = await bound({ type: 'udp4' }, '127.0.0.1');
  const got = collectMessages(client, 2);
  client.send('hello', server.address().port, '127.0.0.2');
  const replies = await got;
  // Without `source` the kernel picks the route's address (127.0.0.1): what breaks such servers.
  assert.deepEqual(replies.map(({ msg, rinfo }) => [msg.toString(), rinfo.address]),
    [['with source', '127.0.0.2'], ['without', '127.0.0.1']]);
  await closeAll([server, client]);
});

test('sendMany source: a source that is no local address fails that datagram with the kernel\'s error, the socket goes on', { skip: !caps.packetInfo && 'no packet info' }, async () => {
  const rx = await bound({ type: 'udp4' }, '127.0.0.1');
  const tx = await bound({ type: 'udp4' }, '0.0.0.0');
  const port = rx.address().port;
  await assert.rejects(sendMany(tx, [{ data: 'x', port, address: '127.0.0.1', source: '192.0.2.1' }]),
    (err) => typeof err.code === 'string' && err.errno < 0 && err.syscall === 'send');
  await assert.rejects(sendMany(tx, [{ data: 'x', port, address: '127.0.0.1', source: 'not an address' }]), { code: 'EINVAL' });
  assert.throws(() => tx.sendMany([{ data: 'x', port, address: '127.0.0.1', source: 5 }]), { code: 'ERR_INVALID_ARG_TYPE' });
  const got = collectMessages(rx, 1);
  await sendMany(tx, [{ data: 'ok', port, address: '127.0.0.1' }]);
  assert.equal((await got)[0].msg.toString(), 'ok');
  await closeAll([rx, tx]);
});

for (const type of ['udp4', 'udp6']) {
  const lo = type === 'udp4' ? '127.0.0.1' : '::1';
  test(`${type}: setTOS/getTOS, per-datagram ecn, and recvEcn reads the ECN bits`, { skip: !caps.ecn && 'no ECN' }, async () => {
    const rx = await bound({ type, recvEcn: true }, lo);
    const tx = await bound({ type }, lo);
    const port = rx.address().port;
    assert.equal(tx.getTOS(), 0);
    tx.setTOS(0xb8 | 2); // DSCP EF, ECT(0)
    assert.equal(tx.getTOS(), 0xba);
    const got = collectMessages(rx, 3);
    await sendMany(tx, [
      { data: 'socket', port, address: lo },
      { data: 'ce', port, address: lo, ecn: 3 },
      { data: 'ect1', port, address: lo, ecn: 1 },
    ]);
    assert.deepEqual((await got).map(({ msg, rinfo }) => [msg.toString(), rinfo.ecn]), [['socket', 2], ['ce', 3], ['ect1', 1]]);
    assert.equal(tx.getTOS(), 0xba, 'a per-datagram ecn leaves the socket\'s TOS alone');
    await closeAll([rx, tx]);
  });
}

test('a dual-stack udp6 socket sending to v4-mapped peers: source (IPv4 or mapped) and ecn take the IPv4 options', { skip: !(caps.packetInfo && caps.ecn) && 'no packet info / ECN' }, async () => {
  const rx = await bound({ type: 'udp4', recvEcn: true, recvPacketInfo: true }, '0.0.0.0');
  const tx = await bound({ type: 'udp6' }, '::');
  const port = rx.address().port;
  const got = collectMessages(rx, 2);
  await sendMany(tx, [
    { data: 'a', port, address: '::ffff:127.0.0.2', ecn: 1, source: '127.0.0.2' },
    { data: 'b', port, address: '::ffff:127.0.0.1', ecn: 3, source: '::ffff:127.0.0.3' },
  ]);
  assert.deepEqual((await got).map(({ msg, rinfo }) => [msg.toString(), rinfo.address, rinfo.destination, rinfo.ecn]),
    [['a', '127.0.0.2', '127.0.0.2', 1], ['b', '127.0.0.3', '127.0.0.1', 3]]);
  await closeAll([rx, tx]);
});

test('setTOS / ecn / segmentSize arguments are checked', async () => {
  const s = await bound({ type: 'udp4' }, '127.0.0.1');
  assert.throws(() => s.setTOS('1'), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => s.setTOS(256), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => s.setTOS(1.5), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => s.setDontFragment(1), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => s.sendMany([{ data: 'x', port: 9, address: '127.0.0.1', ecn: 4 }]), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => s.sendMany([{ data: 'x', port: 9, address: '127.0.0.1', segmentSize: 0 }]), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => s.sendMany([{ data: 'x', port: 9, address: '127.0.0.1', segmentSize: 65536 }]), { code: 'ERR_OUT_OF_RANGE' });
  await closeAll([s]);
  const fresh = udpkit.createSocket('udp4');
  assert.throws(() => fresh.getTOS(), { code: 'EBADF', syscall: 'getTOS' });
  fresh.close();
  assert.throws(() => fresh.setTOS(0), { code: 'ERR_SOCKET_DGRAM_NOT_RUNNING' });
});

test('recvTimestamps: a bigint of nanoseconds since the epoch, from the kernel', { skip: !caps.timestamps && 'no timestamps' }, async () => {
  const rx = await bound({ type: 'udp4', recvTimestamps: true }, '127.0.0.1');
  const tx = await bound({ type: 'udp4' }, '127.0.0.1');
  const before = BigInt(Date.now() - 1) * 1_000_000n;
  const got = collectMessages(rx, 2);
  tx.send('a', rx.address().port, '127.0.0.1');
  tx.send('b', rx.address().port, '127.0.0.1');
  const msgs = await got;
  const after = BigInt(Date.now() + 1) * 1_000_000n;
  for (const { rinfo } of msgs) {
    assert.equal(typeof rinfo.timestamp, 'bigint');
    assert.ok(rinfo.timestamp >= before && rinfo.timestamp <= after, `${rinfo.timestamp} within [${before}, ${after}]`);
    assert.equal('destination' in rinfo, false, 'only the fields asked for');
  }
  assert.ok(msgs[1].rinfo.timestamp >= msgs[0].rinfo.timestamp);
  await closeAll([rx, tx]);
});

test('the \'messages\' batch and udpkit/promises carry the same fields', { skip: !caps.packetInfo && 'no packet info' }, async () => {
  const rx = await bound({ type: 'udp4', recvPacketInfo: true, recvEcn: true }, '0.0.0.0');
  const tx = await bound({ type: 'udp4' }, '127.0.0.1');
  const batch = nextEvent(rx, 'messages');
  await sendMany(tx, [{ data: 'b', port: rx.address().port, address: '127.0.0.2', ecn: 1 }]);
  const [[d]] = await batch;
  assert.equal(d.data.toString(), 'b');
  assert.equal(d.destination, '127.0.0.2');
  assert.equal(d.interfaceIndex, LO_INDEX);
  assert.equal(d.ecn, 1);
  await closeAll([rx, tx]);

  const promises = require(path.join(DIST, 'promises.js'));
  const ps = await promises.createSocket({ type: 'udp4', recvPacketInfo: true, address: '0.0.0.0' });
  const tx2 = await bound({ type: 'udp4' }, '127.0.0.1');
  tx2.send('p', ps.address().port, '127.0.0.2');
  const it = ps[Symbol.asyncIterator]();
  const { value } = await withTimeout(it.next(), 'a datagram from the promise API');
  assert.equal(value.destination, '127.0.0.2');
  await ps.close();
  await closeAll([tx2]);
});

async function segmented(total, segmentSize, expectSizes) {
  const rx = await bound({ type: 'udp4', recvBufferSize: 4 << 20 }, '127.0.0.1');
  const tx = await bound({ type: 'udp4' }, '127.0.0.1');
  const data = Buffer.alloc(total);
  for (let i = 0; i < total; i++) data[i] = (i * 7 + (i >> 8)) & 0xff;
  const got = collectMessages(rx, expectSizes.length);
  const n = await sendMany(tx, [{ data, port: rx.address().port, address: '127.0.0.1', segmentSize }]);
  assert.equal(n, 1, 'one entry sent');
  const msgs = await got;
  assert.deepEqual(msgs.map(({ msg }) => msg.length), expectSizes);
  assert.deepEqual(Buffer.concat(msgs.map(({ msg }) => msg)), data, 'the bytes, in order');
  await closeAll([rx, tx]);
}

test('segmentSize: one buffer leaves as datagrams of that size (UDP GSO where the kernel has it)', async () => {
  await segmented(1200 * 5 + 300, 1200, [1200, 1200, 1200, 1200, 1200, 300]);
});

test('segmentSize leaves as one UDP GSO send where the kernel has it, as software splits otherwise (datapath level)', async () => {
  const { nativeDatapath } = require(path.join(DIST, 'datapath', 'native.js'));
  const rx = await bound({ type: 'udp4' }, '127.0.0.1');
  const port = rx.address().port;
  const h = nativeDatapath.createSocket(4);
  assert.equal(h.bind('127.0.0.1', 0, 0), 0);
  const got = collectMessages(rx, 3 + 100);
  const seg = new Int32Array([1200]);
  assert.equal(h.send([Buffer.alloc(3000, 1)], 1, new Int32Array([port]), ['127.0.0.1'], { sources: null, ecn: null, segmentSizes: seg }), 1);
  assert.equal(h.segmentedSends(), caps.gso ? 1 : 0);
  // 100 segments: more than one GSO send takes, so the datapath splits it itself.
  assert.equal(h.send([Buffer.alloc(100 * 10, 2)], 1, new Int32Array([port]), ['127.0.0.1'], { sources: null, ecn: null, segmentSizes: new Int32Array([10]) }), 1);
  assert.equal(h.segmentedSends(), caps.gso ? 1 : 0);
  const sizes = (await got).map(({ msg }) => msg.length);
  assert.deepEqual(sizes, [1200, 1200, 600, ...new Array(100).fill(10)]);
  h.close();
  await closeAll([rx]);
});

test('segmentSize beyond what GSO takes (100 segments) is split in software, same datagrams', async () => {
  await segmented(100 * 100, 100, new Array(100).fill(100));
});

test('segmentSize: chunks are joined, a buffer no larger than the segment is one datagram, and mixing with plain entries keeps order', async () => {
  const rx = await bound({ type: 'udp4' }, '127.0.0.1');
  const tx = await bound({ type: 'udp4' }, '127.0.0.1');
  const port = rx.address().port;
  const got = collectMessages(rx, 5);
  await sendMany(tx, [
    { data: 'first', port, address: '127.0.0.1' },
    { data: ['abc', 'def', 'gh'], port, address: '127.0.0.1', segmentSize: 3 },
    { data: 'small', port, address: '127.0.0.1', segmentSize: 100 },
  ]);
  assert.deepEqual((await got).map(({ msg }) => msg.toString()), ['first', 'abc', 'def', 'gh', 'small']);
  await closeAll([rx, tx]);
});

test('segmentSize works in software with UDPKIT_OFFLOAD=0', async () => {
  const { execFileSync } = require('node:child_process');
  const script = `
    const u = require(${JSON.stringify(path.join(DIST, 'index.js'))});
    const caps = require(${JSON.stringify(path.join(DIST, 'capabilities.js'))}).capabilities();
    const rx = u.createSocket('udp4'), tx = u.createSocket('udp4'); const sizes = [];
    rx.on('message', (m) => { sizes.push(m.length); if (sizes.length === 3) { console.log(JSON.stringify({ gso: caps.gso, sizes })); rx.close(); tx.close(); } });
    rx.bind(0, '127.0.0.1', () => tx.sendMany([{ data: Buffer.alloc(2500), port: rx.address().port, address: '127.0.0.1', segmentSize: 1000 }]));`;
  const out = execFileSync(process.execPath, ['-e', script], { env: { ...process.env, UDPKIT_OFFLOAD: '0' }, timeout: 10000 });
  assert.deepEqual(JSON.parse(out), { gso: false, sizes: [1000, 1000, 500] });
});

test('recvErrors: port unreachable for an unconnected socket is an \'icmp\' event; the socket keeps working', { skip: !caps.recvErrors && 'no error queue' }, async () => {
  const s = await bound({ type: 'udp4', recvErrors: true }, '127.0.0.1');
  const dead = await closedPort();
  s.on('error', (e) => assert.fail(`no 'error' expected: ${e.message}`));
  const icmp = nextEvent(s, 'icmp');
  s.send('anyone?', dead, '127.0.0.1');
  const [ev] = await icmp;
  assert.deepEqual({ ...ev }, {
    code: 'ECONNREFUSED', errno: -111, address: '127.0.0.1', port: dead, origin: 'icmp', icmpType: 3, icmpCode: 3, offender: '127.0.0.1',
  });
  // Next datagrams go out and come in as usual, the pending error does not fail them.
  const peer = await bound({ type: 'udp4' }, '127.0.0.1');
  const got = collectMessages(s, 1);
  const second = nextEvent(s, 'icmp');
  await new Promise((resolve, reject) => s.send('again', dead, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
  await new Promise((resolve, reject) => s.send('to peer', peer.address().port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
  peer.send('back', s.address().port, '127.0.0.1');
  assert.equal((await got)[0].msg.toString(), 'back');
  assert.equal((await second)[0].port, dead);
  await closeAll([s, peer]);
});

test('recvErrors on a connected socket: the ICMP error is an \'icmp\' event, not an \'error\'', { skip: !caps.recvErrors && 'no error queue' }, async () => {
  const s = await bound({ type: 'udp6', recvErrors: true }, '::1');
  const dead = await closedPort('udp6', '::1');
  await new Promise((r) => s.connect(dead, '::1', r));
  s.on('error', (e) => assert.fail(`no 'error' expected: ${e.message}`));
  const icmp = nextEvent(s, 'icmp');
  s.send('anyone?');
  const [ev] = await icmp;
  assert.equal(ev.code, 'ECONNREFUSED');
  assert.equal(ev.origin, 'icmp6');
  assert.equal(ev.address, '::1');
  assert.equal(ev.port, dead);
  await closeAll([s]);
});

// The ICMP answer to a datagram from `s` has been handled once a later
// datagram's answer reached a recvErrors socket `w` (one host, in order).
async function icmpBarrier(dead) {
  const w = await bound({ type: 'udp4', recvErrors: true }, '127.0.0.1');
  const heard = nextEvent(w, 'icmp');
  w.send('barrier', dead, '127.0.0.1');
  await heard;
  await new Promise((resolve) => setImmediate(resolve));
  await closeAll([w]);
}

test('without recvErrors an unconnected socket hears nothing of ICMP, as node:dgram', { skip: !caps.recvErrors && 'no error queue' }, async () => {
  const s = await bound({ type: 'udp4' }, '127.0.0.1');
  const dead = await closedPort();
  let heard = 0;
  s.on('icmp', () => heard++);
  s.on('error', () => heard++);
  s.send('anyone?', dead, '127.0.0.1');
  await icmpBarrier(dead);
  assert.equal(heard, 0);
  await closeAll([s]);
});

test('recvErrors without an \'icmp\' listener: nothing is thrown, nothing becomes an \'error\'', { skip: !caps.recvErrors && 'no error queue' }, async () => {
  const s = await bound({ type: 'udp4', recvErrors: true }, '127.0.0.1');
  const dead = await closedPort();
  let errors = 0;
  s.on('error', () => errors++);
  s.send('anyone?', dead, '127.0.0.1');
  await icmpBarrier(dead);
  assert.equal(errors, 0);
  // and it still receives
  const got = collectMessages(s, 1);
  s.send('self', s.address().port, '127.0.0.1');
  assert.equal((await got)[0].msg.toString(), 'self');
  await closeAll([s]);
});

test('setDontFragment and getPathMTU on loopback: the MTU of lo; ENOTCONN unconnected', { skip: !caps.dontFragment && 'no PMTU control' }, async () => {
  const s = await bound({ type: 'udp4' }, '127.0.0.1');
  assert.throws(() => s.getPathMTU(), { code: 'ENOTCONN', syscall: 'getPathMTU' });
  s.setDontFragment(true);
  await new Promise((r) => s.connect(9, '127.0.0.1', r));
  // The device's MTU, capped at the largest an IPv4 packet can be.
  const mtu = Number(fs.readFileSync('/sys/class/net/lo/mtu', 'utf8'));
  assert.equal(s.getPathMTU(), Math.min(mtu, 65535));
  s.setDontFragment(false);
  await closeAll([s]);
});

test('a datapath without the features: send-side ones throw ERR_UDPKIT_UNSUPPORTED naming them, receive fields stay absent', async () => {
  const { useDatapath } = require(path.join(DIST, 'socket.js'));
  const { nativeDatapath } = require(path.join(DIST, 'datapath', 'native.js'));
  const MISSING = new Set(['setRecvFeatures', 'setTOS', 'getTOS', 'setDontFragment', 'getPathMTU', 'segmentedSends']);
  // The native datapath with the issue 12 methods hidden, as a datapath that predates them would be.
  const bare = {
    createSocket(family) {
      const h = nativeDatapath.createSocket(family);
      return new Proxy(h, {
        get(target, key) {
          if (MISSING.has(key)) return undefined;
          const v = target[key];
          return typeof v === 'function' ? v.bind(target) : v;
        },
      });
    },
    get recvBatchSize() { return nativeDatapath.recvBatchSize; },
    set recvBatchSize(n) { nativeDatapath.recvBatchSize = n; },
  };
  useDatapath(bare);
  try {
    const rx = await bound({ type: 'udp4', recvPacketInfo: true, recvEcn: true }, '127.0.0.1');
    const tx = await bound({ type: 'udp4' }, '127.0.0.1');
    for (const [call, name] of [[() => tx.setTOS(0), 'setTOS'], [() => tx.getTOS(), 'getTOS'],
      [() => tx.setDontFragment(true), 'setDontFragment'], [() => tx.getPathMTU(), 'getPathMTU']]) {
      assert.throws(call, { code: 'ERR_UDPKIT_UNSUPPORTED', message: `${name} is not supported on this platform` });
    }
    assert.throws(() => tx.sendMany([{ data: 'x', port: rx.address().port, address: '127.0.0.1', ecn: 1 }]),
      { code: 'ERR_UDPKIT_UNSUPPORTED', message: /source, ecn, segmentSize/ });
    const got = collectMessages(rx, 1);
    tx.send('plain', rx.address().port, '127.0.0.1');
    assert.deepEqual(Object.keys((await got)[0].rinfo), ['address', 'family', 'port', 'size']);
    await closeAll([rx, tx]);
  } finally {
    useDatapath(nativeDatapath);
  }
});
