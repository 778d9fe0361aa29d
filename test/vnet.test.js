'use strict';
// udpkit/vnet's own behaviour: determinism, the clock, what links do (loss,
// delay, jitter, rate, MTU fragmentation, duplication, reordering), NAT,
// multicast and broadcast inside the network, pcap output, names.
// (Behaviour shared with real sockets is in vnet-conformance.test.js.)
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { VNET_PATH } = require('./helpers/worlds.js');
const { Network, summarize } = require(VNET_PATH);
const udpkit = require('./helpers/impls.js').loadImpl('udpkit');

const once = (emitter, event) => new Promise((resolve) => emitter.once(event, (...args) => resolve(args)));
function recorder(net) {
  const events = [];
  net.on('trace', (ev) => events.push(ev));
  return events;
}
async function boundOn(net, host, type, port = 0, address) {
  const s = host.createSocket(type);
  s.bind(port, address);
  await net.advance(0);
  return s;
}

/** A small lossy exchange; returns what happened, for replay comparisons. */
async function lossyRun(seed) {
  const net = new Network({ seed });
  const a = net.host('10.0.0.1');
  const b = net.host('fd00::2');
  const a6 = net.host('fd00::1');
  net.link(a6, b, { delay: 20, jitter: 5, loss: 0.3, duplicate: 0.05, reorder: 0.1, mtu: 1280, rate: 125000 });
  const events = recorder(net);
  const r = await boundOn(net, b, 'udp6', 4000);
  const s = a6.createSocket('udp6');
  const got = [];
  r.on('message', (m) => got.push([net.clock.now(), m.length]));
  for (let i = 0; i < 200; i++) net.clock.setTimeout(() => s.send(Buffer.alloc(100 + i * 10), 4000, 'fd00::2'), i);
  await net.advance(1000);
  s.close();
  r.close();
  assert.equal(a.addresses[0], '10.0.0.1');
  return { events, got };
}

test('same seed, same program: the same trace, event for event and time for time', async () => {
  const one = await lossyRun(42);
  const two = await lossyRun(42);
  assert.deepEqual(two, one);
  const kinds = summarize(one.events);
  assert.equal(kinds.send, 200);
  assert.ok(kinds.drop > 0 && kinds.duplicate > 0 && kinds.deliver > 0, JSON.stringify(kinds));
  assert.equal(one.got.length, kinds.deliver);
  const other = await lossyRun(43);
  assert.notDeepEqual(other.events, one.events);
});

test('clock: timers fire in order at their virtual times; ticks and promises run between them', async () => {
  const net = new Network();
  const log = [];
  let tick = false;
  net.clock.setTimeout(() => { log.push(['a', net.clock.now()]); process.nextTick(() => { tick = true; }); }, 10);
  net.clock.setTimeout(() => log.push(['b', net.clock.now(), tick]), 10);
  const iv = net.clock.setInterval(() => { log.push(['iv', net.clock.now()]); if (net.clock.now() >= 30) net.clock.clearInterval(iv); }, 15);
  const cancelled = net.clock.setTimeout(() => log.push(['never']), 5);
  net.clock.clearTimeout(cancelled);
  net.clock.sleep(3600000).then(() => log.push(['hour', net.clock.now()]));
  await net.advance(3600000);
  assert.deepEqual(log, [['a', 10], ['b', 10, true], ['iv', 15], ['iv', 30], ['hour', 3600000]]);
  assert.equal(net.clock.now(), 3600000);
  await assert.rejects(net.advance(-1), RangeError);
});

test('no virtual time passes while the code under test reacts (promises, ticks, Socket callbacks)', async () => {
  const net = new Network();
  const a = net.host('10.0.0.1');
  const b = net.host('10.0.0.2');
  net.link(a, b, { delay: 10 });
  const events = recorder(net);
  const server = await boundOn(net, b, 'udp4', 7);
  server.on('message', async (msg, rinfo) => {
    await Promise.resolve();
    await new Promise((resolve) => process.nextTick(resolve));
    server.send(msg, rinfo.port, rinfo.address, () => {
      process.nextTick(() => server.send('after-callback', rinfo.port, rinfo.address));
    });
  });
  const client = a.createSocket('udp4');
  client.send('ping', 7, '10.0.0.2');
  await net.advance(100);
  assert.deepEqual(events.filter((e) => e.kind === 'send').map((e) => [e.time, e.size]), [[0, 4], [10, 4], [10, 14]]);
  assert.deepEqual(events.filter((e) => e.kind === 'deliver').map((e) => e.time), [10, 20, 20]);
  client.close(); server.close();
});

test('loss: about the given fraction is lost, and every loss is in the trace', async () => {
  const net = new Network({ seed: 1 });
  const a = net.host('10.0.0.1');
  const b = net.host('10.0.0.2');
  net.link(a, b, { loss: 0.3 });
  const events = recorder(net);
  const r = await boundOn(net, b, 'udp4', 9000);
  let got = 0;
  r.on('message', () => got++);
  const s = a.createSocket('udp4');
  // 100 a millisecond: a receiver that keeps up (a burst of 10000 would overflow its buffer).
  for (let ms = 0; ms < 100; ms++) net.clock.setTimeout(() => { for (let i = 0; i < 100; i++) s.send('x', 9000, '10.0.0.2'); }, ms);
  await net.advance(200);
  const sum = summarize(events);
  assert.equal(sum.send, 10000);
  assert.equal(sum.drops.loss, 10000 - got);
  assert.ok(got > 6700 && got < 7300, `delivered ${got}`);
});

test('delay, jitter and rate: arrival times follow the link', async () => {
  const net = new Network({ seed: 3 });
  const a = net.host('10.0.0.1');
  const b = net.host('10.0.0.2');
  net.link(a, b, { delay: 20, jitter: 5 });
  const events = recorder(net);
  const r = await boundOn(net, b, 'udp4', 9000);
  const s = a.createSocket('udp4');
  for (let i = 0; i < 100; i++) s.send('x', 9000, '10.0.0.2');
  await net.advance(100);
  const delivered = events.filter((e) => e.kind === 'deliver');
  assert.equal(delivered.length, 100);
  for (const e of delivered) assert.ok(e.time >= 15 && e.time <= 25, String(e.time));
  assert.ok(new Set(delivered.map((e) => e.time)).size > 50, 'jitter varies the delay');

  // 1000-byte datagrams at 100000 B/s: each takes (1000 + 28 header bytes) / 100 ms on the wire.
  const c = net.host('10.0.0.3');
  net.link(a, c, { rate: 100000, delay: 1 });
  const rc = await boundOn(net, c, 'udp4', 9000);
  const times = [];
  rc.on('message', () => times.push(net.clock.now()));
  const start = net.clock.now();
  for (let i = 0; i < 5; i++) s.send(Buffer.alloc(1000), 9000, '10.0.0.3');
  await net.advance(100);
  assert.deepEqual(times.map((t) => Math.round((t - start) * 1000) / 1000), [11.28, 21.56, 31.84, 42.12, 52.4]);
  s.close(); r.close(); rc.close();
});

test('MTU: a large datagram crosses as fragments and arrives only if every fragment survives', async () => {
  const net = new Network({ seed: 5 });
  const a = net.host('10.0.0.1');
  const b = net.host('10.0.0.2');
  net.link(a, b, { mtu: 1280, loss: 0.2 });
  const events = recorder(net);
  const r = await boundOn(net, b, 'udp4', 9000);
  const got = [];
  r.on('message', (m) => got.push(m));
  const s = a.createSocket('udp4');
  const payload = Buffer.alloc(4000);
  for (let i = 0; i < 4000; i++) payload[i] = i & 0xff;
  for (let i = 0; i < 200; i++) net.clock.setTimeout(() => s.send(payload, 9000, '10.0.0.2'), i);
  await net.advance(300);
  const sends = events.filter((e) => e.kind === 'send');
  // 4008 bytes of UDP in 1256-byte fragments (1280 - 20, rounded down to 8): 4 fragments.
  assert.ok(sends.every((e) => e.fragments === 4));
  const drops = events.filter((e) => e.kind === 'drop');
  assert.ok(drops.length > 0 && drops.every((e) => e.reason === 'fragment-loss' && e.fragments === 4));
  assert.equal(got.length + drops.length, 200);
  // with 4 fragments each surviving 80%, about 41% of datagrams make it
  assert.ok(got.length > 60 && got.length < 105, String(got.length));
  for (const m of got) assert.ok(m.equals(payload));
  s.close(); r.close();
});

test('duplicate and reorder: copies arrive twice; held-back datagrams are overtaken', async () => {
  const net = new Network({ seed: 9 });
  const a = net.host('10.0.0.1');
  const b = net.host('10.0.0.2');
  const link = net.link(a, b, { duplicate: 1, delay: 5 });
  const events = recorder(net);
  const r = await boundOn(net, b, 'udp4', 9000);
  const got = [];
  r.on('message', (m) => got.push(m.toString()));
  const s = a.createSocket('udp4');
  for (let i = 0; i < 3; i++) s.send(`d${i}`, 9000, '10.0.0.2');
  await net.advance(20);
  assert.deepEqual(got, ['d0', 'd0', 'd1', 'd1', 'd2', 'd2']);
  assert.equal(summarize(events).duplicate, 3);

  got.length = 0;
  link.set({ duplicate: 0, reorder: 0.3 });
  for (let i = 0; i < 50; i++) net.clock.setTimeout(() => s.send(`r${i}`, 9000, '10.0.0.2'), i * 0.1);
  await net.advance(50);
  assert.equal(got.length, 50);
  assert.deepEqual([...got].sort(), Array.from({ length: 50 }, (_, i) => `r${i}`).sort());
  assert.notDeepEqual(got, Array.from({ length: 50 }, (_, i) => `r${i}`));
  s.close(); r.close();
});

test('a connected socket learns ECONNREFUSED from another host one round trip later', async () => {
  const net = new Network();
  const a = net.host('10.0.0.1');
  const b = net.host('10.0.0.2');
  net.link(a, b, { delay: 10 });
  const s = a.createSocket('udp4');
  s.connect(7, '10.0.0.2');
  await net.advance(0);
  s.send('knock');
  const errored = once(s, 'error');
  let at = -1;
  errored.then(() => { at = net.clock.now(); });
  await net.advance(30);
  const [err] = await errored;
  assert.equal(at, 20);
  assert.equal(err.code, 'ECONNREFUSED');
  assert.equal(err.syscall, 'recvmsg');
  s.close();
});

test('addresses a host lacks: EADDRNOTAVAIL; a family it lacks: ENETUNREACH; unknown names: ENOTFOUND', async () => {
  const net = new Network();
  const a = net.host('10.0.0.1');
  net.host('10.0.0.2', { name: 'server' });
  const s = a.createSocket('udp4');
  const [err] = await Promise.all([once(s, 'error'), (s.bind(0, '10.0.0.2'), net.advance(0))]);
  assert.equal(err[0].code, 'EADDRNOTAVAIL');
  s.close();
  const s6 = a.createSocket('udp6');
  const res = new Promise((resolve) => s6.send('x', 9, 'fd00::9', (e) => resolve(e)));
  await net.advance(0);
  assert.equal((await res).code, 'ENETUNREACH');
  s6.close();
  const b = await boundOn(net, net.hosts[1], 'udp4', 53);
  const got = once(b, 'message');
  const c = a.createSocket('udp4');
  c.send('by name', 53, 'server');
  const unknown = new Promise((resolve) => c.send('x', 53, 'nowhere', (e) => resolve(e)));
  await net.advance(1);
  assert.equal((await got)[0].toString(), 'by name');
  const e = await unknown;
  assert.deepEqual([e.code, e.syscall, e.hostname, e.message], ['ENOTFOUND', 'getaddrinfo', 'nowhere', 'getaddrinfo ENOTFOUND nowhere']);
  c.close(); b.close();
});

test('multicast within the network: joined hosts receive, others do not; join errors as in Linux', async () => {
  const net = new Network();
  const [a, b, c, d] = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'].map((ip) => net.host(ip));
  const got = [];
  const sockets = [];
  for (const h of [a, b, c, d]) {
    const s = h.createSocket({ type: 'udp4', reuseAddr: true });
    s.bind(5353);
    s.on('message', (m, ri) => got.push(`${h.address}<-${ri.address}:${m}`));
    sockets.push(s);
  }
  await net.advance(0);
  sockets[1].addMembership('239.1.2.3');
  sockets[2].addMembership('239.1.2.3', '10.0.0.3');
  assert.throws(() => sockets[1].addMembership('239.1.2.3'), { code: 'EADDRINUSE', syscall: 'addMembership' });
  assert.throws(() => sockets[3].dropMembership('239.1.2.3'), { code: 'EADDRNOTAVAIL' });
  assert.throws(() => sockets[3].addMembership('10.0.0.9'), { code: 'EINVAL' });
  sockets[0].send('hello', 5353, '239.1.2.3');
  await net.advance(1);
  assert.deepEqual(got.sort(), ['10.0.0.2<-10.0.0.1:hello', '10.0.0.3<-10.0.0.1:hello']);
  got.length = 0;
  sockets[0].addMembership('239.1.2.3');
  sockets[0].setMulticastLoopback(false);
  sockets[2].dropMembership('239.1.2.3', '10.0.0.3');
  sockets[0].send('again', 5353, '239.1.2.3');
  await net.advance(1);
  assert.deepEqual(got, ['10.0.0.2<-10.0.0.1:again']);
  for (const s of sockets) s.close();
});

test('broadcast within the network: needs setBroadcast, reaches every host of the subnet and the sender', async () => {
  const net = new Network();
  const hosts = ['10.0.0.1', '10.0.0.2', '10.0.1.3/16'].map((ip) => net.host(ip));
  const got = [];
  const sockets = hosts.map((h) => {
    const s = h.createSocket('udp4');
    s.bind(6000);
    s.on('message', (m) => got.push(`${h.address}:${m}`));
    return s;
  });
  await net.advance(0);
  const denied = new Promise((resolve) => sockets[0].send('no', 6000, '10.0.0.255', resolve));
  await net.advance(0);
  assert.equal((await denied).code, 'EACCES');
  sockets[0].setBroadcast(true);
  sockets[0].send('all', 6000, '255.255.255.255');
  sockets[0].send('subnet', 6000, '10.0.0.255');
  await net.advance(1);
  assert.deepEqual(got.sort(), ['10.0.0.1:all', '10.0.0.1:subnet', '10.0.0.2:all', '10.0.0.2:subnet', '10.0.1.3:all', '10.0.1.3:subnet']);
  for (const s of sockets) s.close();
});

/** A behind a NAT sends to two servers; returns the public ports they saw and what came back. */
async function natRun(mapping) {
  const net = new Network();
  const a = net.host('192.168.1.10');
  const b = net.host('198.51.100.2');
  const c = net.host('198.51.100.3');
  net.nat({ inside: [a], public: '203.0.113.1', mapping });
  const events = recorder(net);
  const seen = [];
  const servers = [];
  for (const [h, port] of [[b, 3478], [b, 3479], [c, 3478]]) {
    const s = await boundOn(net, h, 'udp4', port);
    s.on('message', (m, ri) => seen.push([h.address, port, ri.address, ri.port]));
    servers.push(s);
  }
  const client = await boundOn(net, a, 'udp4', 5000);
  const replies = [];
  client.on('message', (m, ri) => replies.push(`${ri.address}:${ri.port}`));
  client.send('1', 3478, '198.51.100.2');
  client.send('2', 3479, '198.51.100.2');
  client.send('3', 3478, '198.51.100.3');
  await net.advance(1);
  // Unsolicited: from c's other port, and from b's first port (contacted), to the first mapping.
  const firstPort = seen[0][3];
  const probe = await boundOn(net, c, 'udp4', 9999);
  probe.send('p', firstPort, '203.0.113.1');
  servers[0].send('r', firstPort, '203.0.113.1');
  await net.advance(1);
  const drops = events.filter((e) => e.kind === 'drop').map((e) => e.reason);
  for (const s of [...servers, client, probe]) s.close();
  return { seen, replies, drops };
}

test('NAT: endpoint-independent mapping and filtering', async () => {
  const { seen, replies, drops } = await natRun('endpoint-independent');
  assert.deepEqual(seen.map((s) => s[2]), ['203.0.113.1', '203.0.113.1', '203.0.113.1']);
  assert.deepEqual(new Set(seen.map((s) => s[3])).size, 1, 'one public port for every destination');
  assert.equal(seen[0][3], 5000, 'the internal port is kept when free');
  assert.deepEqual(replies, ['198.51.100.3:9999', '198.51.100.2:3478']);
  assert.deepEqual(drops, []);
});

test('NAT: address-dependent mapping and filtering', async () => {
  const { seen, replies, drops } = await natRun('address-dependent');
  const ports = seen.map((s) => s[3]);
  assert.equal(ports[0], ports[1], 'same destination address, same mapping');
  assert.notEqual(ports[0], ports[2], 'another address, another mapping');
  assert.deepEqual(replies, ['198.51.100.2:3478']);
  assert.deepEqual(drops, ['nat-filtered']);
});

test('NAT: address-and-port-dependent mapping and filtering; unsolicited and private traffic', async () => {
  const { seen, replies, drops } = await natRun('address-and-port-dependent');
  assert.equal(new Set(seen.map((s) => s[3])).size, 3, 'a mapping per destination endpoint');
  assert.deepEqual(replies, ['198.51.100.2:3478']);
  assert.deepEqual(drops, ['nat-filtered']);

  const net = new Network();
  const a = net.host('192.168.1.10');
  const b = net.host('198.51.100.2');
  net.nat({ inside: [a], public: '203.0.113.1', mapping: 'endpoint-independent' });
  const events = recorder(net);
  const s = await boundOn(net, b, 'udp4');
  s.send('x', 5000, '203.0.113.1');
  s.send('y', 5000, '192.168.1.10');
  await net.advance(1);
  assert.deepEqual(events.filter((e) => e.kind === 'drop').map((e) => e.reason), ['nat-no-mapping', 'no-route']);
  s.close();
});

function checksum(buf) {
  let s = 0;
  for (let i = 0; i + 1 < buf.length; i += 2) s += buf.readUInt16BE(i);
  if (buf.length & 1) s += buf[buf.length - 1] << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

test('pcap: libpcap RAW records with valid IPv4/IPv6 and UDP headers, fragments and checksums', async () => {
  const file = path.join(os.tmpdir(), `udpkit-vnet-${process.pid}.pcap`);
  const net = new Network();
  const a = net.host(['10.0.0.1', 'fd00::1']);
  const b = net.host(['10.0.0.2', 'fd00::2']);
  net.link(a, b, { mtu: 1280 });
  const capture = net.pcap(file);
  const r4 = await boundOn(net, b, 'udp4', 7000);
  const r6 = b.createSocket({ type: 'udp6', ipv6Only: true });
  r6.bind(7000);
  const s4 = a.createSocket('udp4');
  const s6 = a.createSocket('udp6');
  s4.send('hello', 7000, '10.0.0.2');
  s6.send('hello6', 7000, 'fd00::2');
  s4.send(Buffer.alloc(3000, 7), 7000, '10.0.0.2');
  s6.send(Buffer.alloc(3000, 9), 7000, 'fd00::2');
  await net.advance(1);
  capture.close();
  for (const s of [r4, r6, s4, s6]) s.close();
  const buf = fs.readFileSync(file);
  fs.unlinkSync(file);
  assert.equal(buf.readUInt32LE(0), 0xa1b2c3d4);
  assert.equal(buf.readUInt16LE(4), 2);
  assert.equal(buf.readUInt32LE(20), 101);
  const packets = [];
  for (let off = 24; off < buf.length;) {
    const len = buf.readUInt32LE(off + 8);
    assert.equal(buf.readUInt32LE(off + 12), len);
    packets.push(buf.subarray(off + 16, off + 16 + len));
    off += 16 + len;
  }
  // Each socket's datagrams in send order: 1 + 3 fragments (3008 bytes of UDP in
  // 1256-byte pieces) over IPv4, 1 + 3 fragments (1232-byte pieces) over IPv6.
  assert.equal(packets.length, 8);
  const v4 = packets.filter((p) => p[0] >> 4 === 4);
  const v6 = packets.filter((p) => p[0] >> 4 === 6);
  const udpOf = (src, dst, udp) => {
    const pseudo = Buffer.concat([src, dst, Buffer.from([0, 17]), Buffer.from([udp.length >> 8, udp.length & 0xff])]);
    return checksum(Buffer.concat([pseudo, udp]));
  };
  // IPv4, whole: header checksum and UDP checksum verify to 0xffff.
  const p0 = v4[0];
  assert.equal(p0[0], 0x45);
  assert.equal(checksum(p0.subarray(0, 20)), 0xffff);
  assert.equal(udpOf(p0.subarray(12, 16), p0.subarray(16, 20), p0.subarray(20)), 0xffff);
  assert.equal(p0.subarray(28).toString(), 'hello');
  // IPv6, whole.
  const p1 = v6[0];
  assert.equal(p1[0] >> 4, 6);
  assert.equal(p1[6], 17);
  assert.equal(udpOf(p1.subarray(8, 24), p1.subarray(24, 40), p1.subarray(40)), 0xffff);
  assert.equal(p1.subarray(48).toString(), 'hello6');
  // IPv4 fragments: offsets, MF flags, and the reassembled UDP checksum.
  const frags4 = v4.slice(1);
  assert.deepEqual(frags4.map((p) => p.readUInt16BE(6)), [0x2000, 0x2000 | 157, 314]);
  for (const p of frags4) assert.equal(checksum(p.subarray(0, 20)), 0xffff);
  const udp4 = Buffer.concat(frags4.map((p) => p.subarray(20)));
  assert.equal(udp4.length, 3008);
  assert.equal(udpOf(frags4[0].subarray(12, 16), frags4[0].subarray(16, 20), udp4), 0xffff);
  // IPv6 fragments: a fragment header (44) each, offsets in 8-byte units with the M flag.
  const frags6 = v6.slice(1);
  assert.deepEqual(frags6.map((p) => [p[6], p[40], p.readUInt16BE(42)]), [[44, 17, 1], [44, 17, 1232 | 1], [44, 17, 2464]]);
  const udp6 = Buffer.concat(frags6.map((p) => p.subarray(48)));
  assert.equal(udpOf(frags6[0].subarray(8, 24), frags6[0].subarray(24, 40), udp6), 0xffff);
});

test('receive buffer: a paused receiver drops what does not fit, counts it, and gets the rest on resume', async () => {
  const net = new Network();
  const a = net.host('10.0.0.1');
  const b = net.host('10.0.0.2');
  const events = recorder(net);
  const r = await boundOn(net, b, 'udp4', 9000);
  r.setRecvBufferSize(16384);
  r.pauseReceiving();
  let got = 0;
  r.on('message', () => got++);
  const s = a.createSocket('udp4');
  for (let i = 0; i < 100; i++) s.send(Buffer.alloc(1000), 9000, '10.0.0.2');
  await net.advance(1);
  assert.equal(got, 0);
  const dropped = summarize(events).drops['receive-buffer-full'];
  assert.ok(dropped > 0);
  assert.equal(r.getRecvDropCount(), dropped);
  r.resumeReceiving();
  await net.advance(1);
  assert.equal(got, 100 - dropped);
  s.close(); r.close();
});

test('sockets are udpkit Sockets; the udpkit module keeps exactly node:dgram\'s keys; ESM entry works', async () => {
  const net = new Network();
  const s = net.host('10.0.0.1').createSocket('udp4');
  assert.ok(s instanceof udpkit.Socket);
  s.close();
  assert.deepEqual(Object.keys(udpkit), Object.keys(require('node:dgram')));
  const esm = await import(path.join(path.dirname(VNET_PATH), 'vnet.mjs'));
  assert.equal(esm.Network, Network);
});

test('in a cluster worker a vnet socket binds on its host, never through the primary', () => {
  const file = path.join(os.tmpdir(), `udpkit-vnet-cluster-${process.pid}.js`);
  fs.writeFileSync(file, `
    const cluster = require('node:cluster');
    if (cluster.isPrimary) { cluster.fork().on('message', (m) => { console.log(m); process.exit(0); }); }
    else {
      const { Network } = require(${JSON.stringify(VNET_PATH)});
      const net = new Network();
      const s = net.host('10.0.0.1').createSocket('udp4');
      s.bind(5000, () => { process.send(JSON.stringify(s.address())); });
      net.advance(0).then(() => { s.close(); });
    }`);
  let out;
  try {
    out = execFileSync(process.execPath, [file], { encoding: 'utf8', timeout: 20000 });
  } finally {
    fs.unlinkSync(file);
  }
  assert.deepEqual(JSON.parse(out.trim()), { address: '0.0.0.0', family: 'IPv4', port: 5000 });
});

test('realtime: the same network on the wall clock delivers by itself', async () => {
  const net = new Network({ realtime: true });
  const a = net.host('10.0.0.1');
  const b = net.host('10.0.0.2');
  net.link(a, b, { delay: 5 });
  const r = b.createSocket('udp4');
  const ready = once(r, 'listening');
  r.bind(9000);
  await ready;
  const got = once(r, 'message');
  a.createSocket('udp4').send('rt', 9000, '10.0.0.2');
  const [m] = await got;
  assert.equal(m.toString(), 'rt');
  assert.ok(net.clock.now() >= 5);
  r.close();
});
