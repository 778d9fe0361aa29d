'use strict';
// Multicast and broadcast between two network namespaces joined by a veth
// pair, on a private subnet that exists only inside them. Each scenario runs
// with node:dgram (proving the test right) and with the implementation under test.
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { runIn: runInNs } = require('./helpers/netns-run.js');
const { implSpecifier, IMPL_NAME } = require('./helpers/impls.js');

const CHILD = path.join(__dirname, 'helpers', 'netns-child.js');
const id = `${process.pid % 100000}`;
const NS_A = `udpk-a-${id}`;
const NS_B = `udpk-b-${id}`;
const VA = `uka${id}`;
const VB = `ukb${id}`;
const NET = `10.213.${process.pid % 250}`;
const A1 = `${NET}.1`;
const A3 = `${NET}.3`;
const B = `${NET}.2`;
const BCAST = `${NET}.255`;

const ip = (...a) => execFileSync('ip', a, { stdio: ['ignore', 'pipe', 'pipe'] });

let skipReason = null;
let created = false;
test.before(() => {
  if (process.getuid && process.getuid() !== 0) { skipReason = 'not root: cannot create network namespaces'; return; }
  try { ip('-V'); } catch { skipReason = 'the ip command is not available'; return; }
  try {
    ip('netns', 'add', NS_A);
    ip('netns', 'add', NS_B);
    created = true;
    ip('link', 'add', VA, 'type', 'veth', 'peer', 'name', VB);
    ip('link', 'set', VA, 'netns', NS_A);
    ip('link', 'set', VB, 'netns', NS_B);
    ip('-n', NS_A, 'addr', 'add', `${A1}/24`, 'dev', VA);
    ip('-n', NS_A, 'addr', 'add', `${A3}/24`, 'dev', VA);
    ip('-n', NS_B, 'addr', 'add', `${B}/24`, 'dev', VB);
    for (const [ns, dev] of [[NS_A, VA], [NS_B, VB]]) {
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', ns, 'link', 'set', dev, 'up');
    }
  } catch (e) {
    skipReason = `could not set up network namespaces: ${String(e.stderr || e.message).trim()}`;
  }
});
test.after(() => {
  if (!created) return;
  for (const ns of [NS_A, NS_B]) { try { ip('netns', 'del', ns); } catch { /* gone */ } }
});

function runIn(ns, role, args, impl) {
  return runInNs(CHILD, ns, role, args, { IMPL: implSpecifier(impl) });
}

const impls = IMPL_NAME === 'node' ? ['node'] : ['node', IMPL_NAME];
let portSeq = 40000 + (process.pid % 10000);

for (const impl of impls) {
  test(`[${impl}] multicast: join on the veth address, receive from the other namespace`, async (t) => {
    if (skipReason) return t.skip(skipReason);
    const port = portSeq++;
    const group = '239.213.1.1';
    const rx = runIn(NS_B, 'mc-recv', { port, group, iface: B }, impl);
    await rx.ready;
    const tx = await runIn(NS_A, 'mc-send', { port, group, from: [A1], ttl: 1 }, impl).exited;
    assert.equal(tx.code, 0, tx.err);
    assert.deepEqual(tx.lines, [{ ttl: 1, loop: false }, { err: null, n: `from ${A1}`.length }]);
    const r = await rx.exited;
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.lines, [{ msg: `from ${A1}`, rinfo: { address: A1, family: 'IPv4', port: r.lines[0].rinfo.port, size: `from ${A1}`.length } }]);
  });

  test(`[${impl}] source-specific multicast: only the chosen source is delivered`, async (t) => {
    if (skipReason) return t.skip(skipReason);
    const port = portSeq++;
    const group = '232.213.1.1';
    const rx = runIn(NS_B, 'ssm-recv', { port, group, source: A1, iface: B }, impl);
    await rx.ready;
    // first from the non-member source A3 (must be filtered), then from A1
    const tx = await runIn(NS_A, 'mc-send', { port, group, from: [A3, A1], ttl: 1 }, impl).exited;
    assert.equal(tx.code, 0, tx.err);
    assert.equal(tx.lines.filter((l) => 'err' in l && l.err === null).length, 2, JSON.stringify(tx.lines));
    const r = await rx.exited;
    assert.equal(r.code, 0, r.err);
    assert.equal(r.lines.length, 1, JSON.stringify(r.lines));
    assert.equal(r.lines[0].msg, `from ${A1}`);
    assert.equal(r.lines[0].rinfo.address, A1);
  });

  test(`[${impl}] broadcast: EACCES without setBroadcast, delivered with it`, async (t) => {
    if (skipReason) return t.skip(skipReason);
    const port = portSeq++;
    const rx = runIn(NS_B, 'bc-recv', { port }, impl);
    await rx.ready;
    const tx = await runIn(NS_A, 'bc-send', { port, bcast: BCAST, from: A1 }, impl).exited;
    assert.equal(tx.code, 0, tx.err);
    assert.deepEqual(tx.lines, [
      { withoutBroadcast: { err: { code: 'EACCES', errno: -13, syscall: 'send', address: BCAST, port, message: `send EACCES ${BCAST}:${port}` } } },
      { withBroadcast: { err: null, n: 9 } },
    ]);
    const r = await rx.exited;
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.lines.map((l) => [l.msg, l.rinfo.address]), [['broadcast', A1]]);
  });
}
