'use strict';
// One table of behaviour cases, run on node:dgram and udpkit over real
// loopback sockets and on udpkit over udpkit/vnet: wherever the virtual network
// is meant to behave like the kernel, all three must give the same result.
// (The real-socket suites stay as they are; these cases restate a subset of
// them in a form each world can run.)
const test = require('node:test');
const assert = require('node:assert/strict');
const { worlds } = require('./helpers/worlds.js');
const { errorFields } = require('./helpers/util.js');

const once = (emitter, event) => new Promise((resolve) => emitter.once(event, (...args) => resolve(args)));
const bound = async (w, host, opts, address) => {
  const s = w.createSocket(host, opts);
  await w.until(new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, address ?? w.addr[host][typeof opts === 'string' ? opts : opts.type], () => { s.removeListener('error', reject); resolve(); });
  }), 'listening');
  return s;
};
const sendCb = (s, ...args) => new Promise((resolve) => s.send(...args, (err, n) => resolve(err ? err : n)));

/** An error with this world's addresses named and port numbers replaced, so worlds compare. */
function fields(w, err) {
  if (typeof err === 'number') return err;
  const f = errorFields(err);
  if (typeof f.message === 'string') {
    f.message = f.message.replace(/(\S+):(\d+)$/, (_, a, p) => `${w.name(a)}:${p === '0' ? 0 : 'PORT'}`);
    f.message = f.message.replace(/ (\S+)$/, (_, a) => ` ${w.name(a)}`);
  }
  if (f.address !== undefined) f.address = w.name(f.address);
  if (typeof f.port === 'number' && f.port > 0) f.port = 'PORT';
  return f;
}

const cases = {
  'bind: listening, then address() names the bound address': async (w, type) => {
    const s = await bound(w, 'B', type);
    const a = s.address();
    s.close();
    return { address: w.name(a.address), family: a.family, port: a.port > 0 };
  },

  'bind: EADDRINUSE for a port in use, as an error event with address and port': async (w, type) => {
    const first = await bound(w, 'B', type);
    const second = w.createSocket('B', type);
    const [err] = await w.until(new Promise((resolve) => {
      second.once('error', (e) => resolve([e]));
      second.bind(first.address().port, w.addr.B[type]);
    }));
    first.close();
    second.close();
    return fields(w, err);
  },

  'bind: EADDRNOTAVAIL for an address the host does not have': async (w, type) => {
    const s = w.createSocket('B', type);
    const [err] = await w.until(new Promise((resolve) => {
      s.once('error', (e) => resolve([e]));
      s.bind(0, type === 'udp4' ? '192.0.2.1' : '2001:db8::1');
    }));
    s.close();
    return fields(w, err);
  },

  'bind({ fd }) with a descriptor that is not a datagram socket throws ERR_INVALID_FD_TYPE': async (w, type) => {
    const s = w.createSocket('B', type);
    let thrown;
    try { s.bind({ fd: 1000000 }); } catch (e) { thrown = fields(w, e); }
    s.close();
    return thrown;
  },

  'send: every message form arrives byte for byte, with rinfo and callback sizes': async (w, type) => {
    const r = await bound(w, 'B', type);
    const s = w.createSocket('A', type);
    const port = r.address().port;
    const got = [];
    const all = new Promise((resolve) => r.on('message', (m, ri) => {
      got.push([m.toString('hex'), w.name(ri.address), ri.family, ri.size]);
      if (got.length === 5) resolve();
    }));
    const dst = w.addr.B[type];
    const cbs = await w.until(Promise.all([
      sendCb(s, 'text', port, dst),
      sendCb(s, Buffer.from('xxslicexx'), 2, 5, port, dst),
      sendCb(s, ['ga', Buffer.from('th'), new Uint8Array([101, 114])], port, dst),
      sendCb(s, Buffer.alloc(0), port, dst),
      sendCb(s, new DataView(new Uint8Array([1, 2, 3]).buffer), port, dst),
    ]));
    await w.until(all, 'five datagrams');
    const fromPort = got.length > 0 && s.address().port > 0;
    s.close();
    r.close();
    return { cbs, got, fromPort };
  },

  'send: EMSGSIZE just past the largest datagram, which itself arrives whole': async (w, type) => {
    const max = type === 'udp4' ? 65507 : 65527;
    const r = await bound(w, 'B', type);
    const s = w.createSocket('A', type);
    const arrived = once(r, 'message');
    const dst = w.addr.B[type];
    const results = await w.until(Promise.all([
      sendCb(s, Buffer.alloc(max, 1), r.address().port, dst),
      sendCb(s, Buffer.alloc(max + 1, 2), r.address().port, dst),
    ]));
    const [msg] = await w.until(arrived, 'the largest datagram');
    s.close();
    r.close();
    return { ok: results[0], tooBig: fields(w, results[1]), size: msg.length, first: msg[0], last: msg[max - 1] };
  },

  'send: an unbound socket binds implicitly: listening comes before the send callback': async (w, type) => {
    const r = await bound(w, 'B', type);
    const s = w.createSocket('A', type);
    const order = [];
    s.on('listening', () => order.push('listening'));
    await w.until(new Promise((resolve) => s.send('x', r.address().port, w.addr.B[type], (e, n) => { order.push(`cb ${e} ${n}`); resolve(); })));
    await w.until(once(r, 'message'));
    s.close();
    r.close();
    return order;
  },

  'receive: several senders, each one\'s datagrams in order': async (w, type) => {
    const r = await bound(w, 'B', type);
    const senders = [w.createSocket('A', type), w.createSocket('A', type), w.createSocket('A', type)];
    const got = [];
    const all = new Promise((resolve) => r.on('message', (m) => { got.push(m.toString()); if (got.length === 15) resolve(); }));
    for (let i = 0; i < 5; i++) senders.forEach((s, k) => s.send(`${k}:${i}`, r.address().port, w.addr.B[type]));
    await w.until(all, '15 datagrams');
    const perSender = [0, 1, 2].map((k) => got.filter((g) => g.startsWith(`${k}:`)));
    for (const s of senders) s.close();
    r.close();
    return perSender;
  },

  'connect: listening, connect, callback; remoteAddress; connected sends; other senders filtered': async (w, type) => {
    const peer = await bound(w, 'B', type);
    const stranger = await bound(w, 'B', type);
    const s = w.createSocket('A', type);
    const order = [];
    s.on('listening', () => order.push('listening'));
    s.on('connect', () => order.push('connect'));
    await w.until(new Promise((resolve) => s.connect(peer.address().port, w.addr.B[type], () => { order.push('callback'); resolve(); })));
    const remote = s.remoteAddress();
    const local = s.address();
    const atPeer = new Promise((resolve) => peer.once('message', (m, ri) => resolve([m.toString(), ri.port === local.port])));
    const cb = await w.until(sendCb(s, 'hello'));
    const fromS = await w.until(atPeer);
    const got = [];
    const two = new Promise((resolve) => s.on('message', (m) => { got.push(m.toString()); if (got.length === 2) resolve(); }));
    await w.until(sendCb(stranger, 'stranger', local.port, w.addr.A[type]));
    await w.until(sendCb(peer, 'r1', local.port, w.addr.A[type]));
    await w.until(sendCb(peer, 'r2', local.port, w.addr.A[type]));
    await w.until(two);
    const remotePort = remote.port === peer.address().port;
    s.close();
    peer.close();
    stranger.close();
    return {
      order, cb, fromS, got,
      remote: { address: w.name(remote.address), family: remote.family, port: remotePort },
      local: w.name(local.address),
    };
  },

  // On one host, as on loopback: the ICMP error is pending before the send call returns.
  'connect: ECONNREFUSED (same host) fails the next send, then arrives as a recvmsg error event': async (w, type) => {
    const dead = await bound(w, 'A', type);
    const port = dead.address().port;
    await w.until(new Promise((resolve) => dead.close(resolve)));
    const s = w.createSocket('A', type);
    await w.until(new Promise((resolve) => s.connect(port, w.addr.A[type], resolve)));
    const errorEvent = once(s, 'error');
    const seq = [];
    for (const label of ['first', 'second', 'third']) {
      const r = await w.until(sendCb(s, label));
      seq.push([label, typeof r === 'number' ? r : fields(w, r)]);
    }
    const [ev] = await w.until(errorEvent, 'the error event');
    s.close();
    return { seq, event: fields(w, ev) };
  },

  'disconnect: sends need an address again and go where they are told': async (w, type) => {
    const peer = await bound(w, 'B', type);
    const other = await bound(w, 'B', type);
    const s = w.createSocket('A', type);
    await w.until(new Promise((resolve) => s.connect(peer.address().port, w.addr.B[type], resolve)));
    s.disconnect();
    let thrown;
    try { s.remoteAddress(); } catch (e) { thrown = e.code; }
    const got = once(other, 'message');
    s.send('after', other.address().port, w.addr.B[type]);
    const [m] = await w.until(got);
    s.close();
    peer.close();
    other.close();
    return { thrown, got: m.toString() };
  },

  'close: inside a message listener stops delivery; close is emitted once; later send throws': async (w, type) => {
    const r = await bound(w, 'B', type);
    const s = w.createSocket('A', type);
    const seen = [];
    const closed = new Promise((resolve) => r.on('close', () => { seen.push('close'); resolve(); }));
    r.on('message', (m) => { seen.push(m.toString()); r.close(); });
    s.send('one', r.address().port, w.addr.B[type]);
    s.send('two', r.address().port, w.addr.B[type]);
    await w.until(closed);
    await w.until(sendCb(s, 'flush', 9, w.addr.B[type]));
    let thrown;
    try { r.send('x', 9, w.addr.B[type]); } catch (e) { thrown = fields(w, e); }
    s.close();
    return { seen, thrown };
  },

  'reuseAddr: two sockets bind one port; without it the second fails': async (w, type) => {
    const a = await bound(w, 'B', { type, reuseAddr: true });
    const b = w.createSocket('B', { type, reuseAddr: true });
    await w.until(new Promise((resolve, reject) => { b.once('error', reject); b.bind(a.address().port, w.addr.B[type], resolve); }));
    const c = w.createSocket('B', type);
    const [err] = await w.until(new Promise((resolve) => { c.once('error', (e) => resolve([e])); c.bind(a.address().port, w.addr.B[type]); }));
    const same = a.address().port === b.address().port;
    a.close(); b.close(); c.close();
    return { same, err: err.code };
  },

  'buffer sizes: what is set comes back doubled, as Linux reports it': async (w, type) => {
    const s = await bound(w, 'B', type);
    s.setRecvBufferSize(8192);
    s.setSendBufferSize(16384);
    const out = [s.getRecvBufferSize(), s.getSendBufferSize(), s.setTTL(7), s.setMulticastTTL(3)];
    s.close();
    return out;
  },
};

Object.assign(cases, {
  'unbound socket: address(), buffer sizes and TTL fail with EBADF; remoteAddress() with NOT_CONNECTED': async (w, type) => {
    const s = w.createSocket('A', type);
    const out = [];
    for (const call of [() => s.address(), () => s.getRecvBufferSize(), () => s.setTTL(5), () => s.remoteAddress()]) {
      try { out.push(call()); } catch (e) { out.push(fields(w, e)); }
    }
    s.close();
    return out;
  },

  'multicast errors that need no join: a unicast group (EINVAL), leaving a group never joined (EADDRNOTAVAIL), an interface the host lacks': async (w, type) => {
    const s = await bound(w, 'A', type);
    const group = type === 'udp4' ? '239.255.0.1' : 'ff15::1';
    const out = [];
    for (const call of [
      () => s.addMembership(w.addr.A[type]),
      () => s.dropMembership(group),
      () => s.setMulticastInterface(type === 'udp4' ? '192.0.2.1' : '2001:db8::1'),
    ]) {
      try { out.push(call()); } catch (e) { out.push(fields(w, e)); }
    }
    s.close();
    return out;
  },
});

// udpkit's extensions: the same on real sockets and on the virtual network.
const extensions = {
  'sendMany and the \'messages\' batch event': async (w, type) => {
    const r = await bound(w, 'B', type);
    const s = w.createSocket('A', type);
    const batches = [];
    const all = new Promise((resolve) => r.on('messages', (list) => {
      batches.push(...list.map((d) => [d.data.toString(), w.name(d.address), d.family, d.size]));
      if (batches.length === 4) resolve();
    }));
    const dst = w.addr.B[type];
    const port = r.address().port;
    const res = await w.until(new Promise((resolve) => s.sendMany([
      { data: 'a', port, address: dst }, { data: Buffer.from('bb'), port, address: dst },
      { data: ['c', 'cc'], port, address: dst }, { data: new Uint8Array(0), port, address: dst },
    ], (err, sent) => resolve([err, sent]))));
    await w.until(all);
    const drops = typeof r.getRecvDropCount(); // a count, or -1 on a datapath without a drop counter
    s.close();
    r.close();
    return { res, batches, drops };
  },

  'pauseReceiving holds datagrams until resumeReceiving': async (w, type) => {
    const r = await bound(w, 'B', type);
    r.pauseReceiving();
    const got = [];
    r.on('message', (m) => got.push(m.toString()));
    const s = w.createSocket('A', type);
    await w.until(sendCb(s, 'held', r.address().port, w.addr.B[type]));
    const before = got.length;
    const arrived = once(r, 'message');
    r.resumeReceiving();
    await w.until(arrived);
    s.close();
    r.close();
    return { before, got };
  },
};

const udp4Only = {
  'broadcast: sending to 255.255.255.255 without setBroadcast fails with EACCES': async (w) => {
    const s = await bound(w, 'A', 'udp4');
    const r = await w.until(sendCb(s, 'b', 9, '255.255.255.255'));
    s.close();
    return fields(w, r);
  },

  'dual stack: a udp6 socket on :: receives IPv4 datagrams from ::ffff:a.b.c.d': async (w) => {
    const r = await bound(w, 'B', 'udp6', '::');
    const s = w.createSocket('A', 'udp4');
    const got = once(r, 'message');
    s.send('v4', r.address().port, w.addr.B.udp4);
    const [m, ri] = await w.until(got);
    s.close();
    r.close();
    return { m: m.toString(), address: w.name(ri.address), family: ri.family };
  },

  'dual stack: :: and 0.0.0.0 on one port conflict, unless the udp6 socket is ipv6Only': async (w) => {
    const v4 = await bound(w, 'B', 'udp4', '0.0.0.0');
    const port = v4.address().port;
    const dual = w.createSocket('B', 'udp6');
    const [err] = await w.until(new Promise((resolve) => { dual.once('error', (e) => resolve([e])); dual.bind(port, '::'); }));
    const only = w.createSocket('B', { type: 'udp6', ipv6Only: true });
    await w.until(new Promise((resolve, reject) => { only.once('error', reject); only.bind(port, '::', resolve); }));
    const out = { err: fields(w, err), only: only.address().port === port };
    v4.close(); dual.close(); only.close();
    return out;
  },

  'localhost: binds and connects to the loopback address': async (w) => {
    const r = w.createSocket('B', 'udp4');
    await w.until(new Promise((resolve) => r.bind(0, 'localhost', resolve)));
    const s = w.createSocket('B', 'udp4');
    await w.until(new Promise((resolve) => s.connect(r.address().port, 'localhost', resolve)));
    const out = [r.address().address, s.remoteAddress().address];
    r.close();
    s.close();
    return out;
  },
};

const both = (table) => Object.entries(table).flatMap(([t, f]) => ['udp4', 'udp6'].map((type) => [`${type}: ${t}`, (w) => f(w, type)]));
for (const [title, fn, from] of [
  ...both(cases).map(([t, f]) => [t, f, 0]),
  ...Object.entries(udp4Only).map(([t, f]) => [`udp4: ${t}`, f, 0]),
  // node:dgram has no extensions: udpkit over real sockets is the reference there.
  ...both(extensions).map(([t, f]) => [`udpkit extension, ${t}`, f, 1]),
]) {
  test(title, async () => {
    const results = [];
    for (const make of worlds().slice(from)) {
      const w = make();
      try {
        results.push([w.label, await fn(w)]);
      } finally {
        w.close();
      }
    }
    const [[, expected]] = results;
    for (const [label, result] of results.slice(1)) assert.deepEqual(result, expected, `${label} differs from ${results[0][0]}`);
  });
}
