'use strict';
// Issue 12's features across network namespaces, on private subnets that
// exist only inside them:
//
//   A (NET1.1) ── veth ── (NET1.254) R (NET2.254) ── veth, MTU 1280 ── B (NET2.2 and NET2.3)
//
// R routes between A and B. "Fragmentation needed" from R reaches a
// don't-fragment socket in A as 'icmp'; a wildcard server in B with two
// addresses answers from the one each client used. Skips when not root or
// without `ip`; the namespaces go away even when a test fails.
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { runIn: runInNs } = require('./helpers/netns-run.js');
const { implSpecifier } = require('./helpers/impls.js');

const CHILD = path.join(__dirname, 'helpers', 'netns-quic-child.js');
const id = `${process.pid % 100000}`;
const NS = { A: `udpq-a-${id}`, R: `udpq-r-${id}`, B: `udpq-b-${id}` };
const DEV = { A: `uqa${id}`, RA: `uqra${id}`, RB: `uqrb${id}`, B: `uqb${id}` };
const k = 2 * (process.pid % 120);
const NET1 = `10.214.${k}`;
const NET2 = `10.214.${k + 1}`;
const A1 = `${NET1}.1`;
const B2 = `${NET2}.2`;
const B3 = `${NET2}.3`;
const SMALL_MTU = 1280;

const ip = (...a) => execFileSync('ip', a, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

let skipReason = null;
const created = [];
test.before(() => {
  if (process.getuid && process.getuid() !== 0) { skipReason = 'not root: cannot create network namespaces'; return; }
  try { ip('-V'); } catch { skipReason = 'the ip command is not available'; return; }
  try {
    for (const ns of Object.values(NS)) { ip('netns', 'add', ns); created.push(ns); }
    ip('link', 'add', DEV.A, 'netns', NS.A, 'type', 'veth', 'peer', 'name', DEV.RA, 'netns', NS.R);
    ip('link', 'add', DEV.RB, 'netns', NS.R, 'mtu', `${SMALL_MTU}`, 'type', 'veth', 'peer', 'name', DEV.B, 'netns', NS.B, 'mtu', `${SMALL_MTU}`);
    ip('-n', NS.A, 'addr', 'add', `${A1}/24`, 'dev', DEV.A);
    ip('-n', NS.R, 'addr', 'add', `${NET1}.254/24`, 'dev', DEV.RA);
    ip('-n', NS.R, 'addr', 'add', `${NET2}.254/24`, 'dev', DEV.RB);
    ip('-n', NS.B, 'addr', 'add', `${B2}/24`, 'dev', DEV.B);
    ip('-n', NS.B, 'addr', 'add', `${B3}/24`, 'dev', DEV.B);
    for (const [ns, devs] of [[NS.A, [DEV.A]], [NS.R, [DEV.RA, DEV.RB]], [NS.B, [DEV.B]]]) {
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      for (const dev of devs) ip('-n', ns, 'link', 'set', dev, 'up');
    }
    ip('-n', NS.A, 'route', 'add', 'default', 'via', `${NET1}.254`);
    ip('-n', NS.B, 'route', 'add', 'default', 'via', `${NET2}.254`);
    execFileSync('ip', ['netns', 'exec', NS.R, 'sysctl', '-qw', 'net.ipv4.ip_forward=1'], { stdio: 'ignore' });
  } catch (e) {
    skipReason = `could not set up network namespaces: ${String(e.stderr || e.message).trim()}`;
  }
});
test.after(() => {
  for (const ns of created) { try { ip('netns', 'del', ns); } catch { /* gone */ } }
});

function runIn(ns, role, args) {
  return runInNs(CHILD, ns, role, args, { IMPL: implSpecifier('udpkit') });
}

let portSeq = 41000 + (process.pid % 10000);
// The datapath under test may lack the features (the POSIX fallback has none of them).
const caps = require('../dist/capabilities.js').capabilities();
const lacking = (...names) => {
  const missing = names.filter((n) => !caps[n]);
  return missing.length ? `this datapath has no ${missing.join(', ')}` : null;
};

test('fragmentation needed: \'icmp\' EMSGSIZE with mtu 1280 from the router, unconnected and connected; getPathMTU follows; too big then fails locally', async (t) => {
  if (skipReason || lacking('dontFragment', 'recvErrors')) return t.skip(skipReason || lacking('dontFragment', 'recvErrors'));
  const r = await runIn(NS.A, 'pmtu', { first: B3, target: B2, port: portSeq++, size: 1400 }).exited;
  assert.equal(r.code, 0, r.err + JSON.stringify(r.lines));
  const by = Object.assign({}, ...r.lines);
  assert.equal(by.unconnectedSend, null, 'the datagram left (the router refuses it)');
  assert.deepEqual(by.unconnectedIcmp, {
    code: 'EMSGSIZE', errno: -90, address: B3, port: by.unconnectedIcmp.port, mtu: SMALL_MTU, origin: 'icmp',
    icmpType: 3, icmpCode: 4, offender: `${NET1}.254`,
  });
  assert.equal(by.mtuBefore, 1500, 'the first hop\'s MTU before anything is known of B2');
  assert.equal(by.connectedSend, null);
  assert.deepEqual(by.connectedIcmp, { code: 'EMSGSIZE', origin: 'icmp', mtu: SMALL_MTU, address: B2 });
  assert.equal(by.mtuAfter, SMALL_MTU);
  assert.deepEqual(by.tooBig, { code: 'EMSGSIZE', errno: -90, syscall: 'send' });
  assert.deepEqual(by.localIcmp, { code: 'EMSGSIZE', origin: 'local', mtu: SMALL_MTU, address: B3 });
  assert.equal(by.fits, null);
});

test('a wildcard server on a host with two addresses answers from the one the client used (source)', async (t) => {
  if (skipReason || lacking('packetInfo')) return t.skip(skipReason || lacking('packetInfo'));
  const port = portSeq++;
  const ifindex = Number(/^(\d+):/.exec(ip('-n', NS.B, '-o', 'link', 'show', 'dev', DEV.B))[1]);
  const server = runIn(NS.B, 'server', { port });
  await server.ready;
  const client = await runIn(NS.A, 'client', { target: B3, port }).exited;
  const s = await server.exited;
  assert.equal(s.code, 0, s.err + JSON.stringify(s.lines));
  assert.deepEqual(s.lines, [{ msg: 'hello', destination: B3, interfaceIndex: ifindex }, { sent: null }]);
  assert.equal(client.code, 0, client.err + JSON.stringify(client.lines));
  // Without `source` the reply leaves from the interface's primary address, B2: a client that talked to B3 would drop it.
  assert.deepEqual(client.lines, [{ replies: [['with source', B3], ['without', B2]] }]);
});
