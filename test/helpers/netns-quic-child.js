'use strict';
// `node --test test/` also executes helper files: do nothing without a ROLE.
if (!process.env.ROLE) return;
// Runs inside a network namespace for test/netns-quic.test.js (ip netns exec
// NS node netns-quic-child.js). ROLE and ARGS (JSON) come from env; prints
// one JSON line per result, 'READY' once a server listens.
const dgram = require(process.env.IMPL);
const args = JSON.parse(process.env.ARGS || '{}');
const out = (o) => process.stdout.write(`${JSON.stringify(o, (k, v) => (typeof v === 'bigint' ? String(v) : v))}\n`);
const guard = setTimeout(() => { out({ timeout: true }); process.exit(3); }, 8000);
const errFields = (e) => e && { code: e.code, errno: e.errno, syscall: e.syscall };
const once = (emitter, event) => new Promise((resolve) => emitter.once(event, (...a) => resolve(a)));

const roles = {
  // A wildcard server on a host with two addresses: answers each datagram
  // twice, from the address the client used (source) and as the kernel picks.
  server: () => {
    const s = dgram.createSocket({ type: 'udp4', recvPacketInfo: true });
    s.on('error', (e) => { out({ error: errFields(e) }); process.exit(2); });
    s.on('message', (msg, rinfo) => {
      out({ msg: msg.toString(), destination: rinfo.destination, interfaceIndex: rinfo.interfaceIndex });
      s.sendMany([
        { data: 'with source', port: rinfo.port, address: rinfo.address, source: rinfo.destination },
        { data: 'without', port: rinfo.port, address: rinfo.address },
      ], (err) => {
        out({ sent: errFields(err) });
        clearTimeout(guard);
        s.close();
      });
    });
    s.bind(args.port, '0.0.0.0', () => process.stdout.write('READY\n'));
  },
  client: async () => {
    const s = dgram.createSocket('udp4');
    const replies = [];
    const done = new Promise((resolve) => s.on('message', (msg, rinfo) => {
      replies.push([msg.toString(), rinfo.address]);
      if (replies.length === 2) resolve();
    }));
    await new Promise((r) => s.bind(0, r));
    s.send('hello', args.port, args.target);
    await done;
    out({ replies });
    clearTimeout(guard);
    s.close();
  },
  // Don't-fragment over a path whose far link has a smaller MTU: the router's
  // "fragmentation needed" comes back as 'icmp', and the path MTU follows.
  // (The kernel keeps a path MTU per destination address: args.first and
  // args.target are two addresses of the far host.)
  pmtu: async () => {
    const send = (sock, size, ...to) => new Promise((resolve) => sock.send(Buffer.alloc(size), ...to, (err) => resolve(errFields(err))));
    const s = dgram.createSocket({ type: 'udp4', recvErrors: true });
    await new Promise((r) => s.bind(0, r));
    s.setDontFragment(true);
    let icmp = once(s, 'icmp');
    out({ unconnectedSend: await send(s, args.size, args.port, args.first) });
    out({ unconnectedIcmp: (await icmp)[0] });

    const c = dgram.createSocket({ type: 'udp4', recvErrors: true });
    await new Promise((r) => c.connect(args.port, args.target, r));
    c.setDontFragment(true);
    out({ mtuBefore: c.getPathMTU() });
    icmp = once(c, 'icmp');
    out({ connectedSend: await send(c, args.size) });
    const [ev] = await icmp;
    out({ connectedIcmp: { code: ev.code, origin: ev.origin, mtu: ev.mtu, address: ev.address } });
    out({ mtuAfter: c.getPathMTU() });

    // Now the kernel knows: too big fails at once, and (recvErrors) is also reported as a local 'icmp'.
    icmp = once(s, 'icmp');
    out({ tooBig: await send(s, args.size, args.port, args.first) });
    const [lev] = await icmp;
    out({ localIcmp: { code: lev.code, origin: lev.origin, mtu: lev.mtu, address: lev.address } });
    out({ fits: await send(s, 1000, args.port, args.first) });
    clearTimeout(guard);
    s.close();
    c.close();
  },
};

Promise.resolve().then(roles[process.env.ROLE]).catch((e) => { out({ thrown: String(e && e.stack) }); process.exit(2); });
