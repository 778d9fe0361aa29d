'use strict';
// `node --test test/` also executes helper files: do nothing without a ROLE.
if (!process.env.ROLE) return;
// Runs inside a network namespace (ip netns exec NS node netns-child.js).
// Role and parameters come from env: IMPL (module to require), ROLE, ARGS (JSON).
// Prints one JSON line per result; 'READY' when a receiver is set up.
const dgram = require(process.env.IMPL);
const args = JSON.parse(process.env.ARGS || '{}');
const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const errFields = (e) => e && { code: e.code, errno: e.errno, syscall: e.syscall, address: e.address, port: e.port, message: e.message };
const guard = setTimeout(() => { out({ timeout: true }); process.exit(3); }, 8000);

function receiver(join) {
  const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  s.on('error', (e) => { out({ error: errFields(e) }); process.exit(2); });
  s.on('message', (msg, rinfo) => {
    out({ msg: msg.toString(), rinfo });
    clearTimeout(guard);
    s.close();
  });
  s.bind(args.port, '0.0.0.0', () => {
    try {
      join(s);
    } catch (e) {
      out({ joinError: errFields(e) });
      process.exit(2);
    }
    process.stdout.write('READY\n');
  });
}

const roles = {
  'mc-recv': () => receiver((s) => s.addMembership(args.group, args.iface)),
  'ssm-recv': () => receiver((s) => s.addSourceSpecificMembership(args.source, args.group, args.iface)),
  'bc-recv': () => receiver(() => {}),
  // send to a multicast group, from each address in args.from in turn
  'mc-send': async () => {
    for (const from of args.from) {
      const s = dgram.createSocket('udp4');
      await new Promise((r) => s.bind(0, from, r));
      s.setMulticastInterface(from);
      out({ ttl: s.setMulticastTTL(args.ttl ?? 1), loop: s.setMulticastLoopback(false) });
      const r = await new Promise((res) => s.send(`from ${from}`, args.port, args.group, (e, n) => res({ err: errFields(e), n })));
      out(r);
      await new Promise((res) => s.close(res));
    }
    clearTimeout(guard);
  },
  'bc-send': async () => {
    const s = dgram.createSocket('udp4');
    await new Promise((r) => s.bind(0, args.from, r));
    const before = await new Promise((res) => s.send('no-flag', args.port, args.bcast, (e, n) => res({ err: errFields(e), n })));
    out({ withoutBroadcast: before });
    s.setBroadcast(true);
    const after = await new Promise((res) => s.send('broadcast', args.port, args.bcast, (e, n) => res({ err: errFields(e), n })));
    out({ withBroadcast: after });
    await new Promise((res) => s.close(res));
    clearTimeout(guard);
  },
};
roles[process.env.ROLE]();
