'use strict';
// Property-based differential fuzzing of the public surface: random argument
// lists for every Socket method, in the states fresh/bound/connected/closed,
// and for createSocket, run on node:dgram and on udpkit; the synchronous
// outcome must match (return kind, or thrown error's class/code/message).
// Fixed seed in CI; `node test/fuzz/differential.test.js --long <runs> [seed]`
// (used by scripts/fuzz-long.js) runs more and prints the mismatch classes.
//
// Traffic stays on loopback: every socket has a custom lookup that maps any
// name (and any literal, as node calls it for literals too) to 127.0.0.1/::1;
// the only integer ports generated are a local sink's port, a closed local
// port and boundary values; no generated string is a multicast group.
const fc = require('fast-check');
const { loadImpl } = require('../helpers/impls.js');

const IMPLS = { node: loadImpl('node'), udpkit: loadImpl('udpkit') };
const SEED = 0x5eed;
const LONG = process.argv[2] === '--long';

const METHODS = {
  bind: 3, connect: 3, disconnect: 0, send: 6, sendto: 6, close: 1, address: 0, remoteAddress: 0,
  setBroadcast: 1, setTTL: 1, setMulticastTTL: 1, setMulticastLoopback: 1, setMulticastInterface: 1,
  addMembership: 2, dropMembership: 2, addSourceSpecificMembership: 3, dropSourceSpecificMembership: 3,
  setRecvBufferSize: 1, setSendBufferSize: 1, getRecvBufferSize: 0, getSendBufferSize: 0,
  getSendQueueSize: 0, getSendQueueCount: 0, ref: 0, unref: 0,
};
const STATES = ['fresh', 'bound', 'connected', 'closed'];
const LOOP = { udp4: '127.0.0.1', udp6: '::1' };

function loopLookup(host, opts, cb) {
  const family = typeof opts === 'number' ? opts : (opts && opts.family) || 4;
  process.nextTick(cb, null, family === 6 ? '::1' : '127.0.0.1', family);
}
const noop = function noop() {};

// Values are described by data (so both implementations get equal, fresh
// values) and built by make(); ports are placeholders filled in per run.
function valueArb() {
  return fc.oneof(
    fc.constantFrom(NaN, -0, 0, 1, -1, 0.5, 1.5, 255, 256, 65535, 65536, -65536, 2 ** 31, 2 ** 32, 2 ** 53, -(2 ** 53), 1e308, Infinity, -Infinity, 4096, 1024).map((n) => ({ k: 'num', n })),
    fc.double().map((n) => ({ k: 'num', n })),
    fc.integer({ min: -300, max: 300 }).map((n) => ({ k: 'num', n })),
    fc.constantFrom('SINK', 'CLOSED').map((p) => ({ k: 'port', p })),
    fc.constantFrom('', '0', '1', '80', '65535', '65536', '-1', '1e3', '0x10', ' 42 ', 'NaN', '127.0.0.1', '::1', '0.0.0.0', '::', 'localhost',
      '::ffff:127.0.0.1', '127.1', '127.0.0.1%lo', '::1%lo', 'fe80::1%lo', 'udp4', 'udp6', 'lo', 'abc', '300.1.1.1', '1.2.3').map((s) => ({ k: 'str', s })),
    fc.string({ maxLength: 12 }).filter((s) => !/^(22[4-9]|23\d)\.|^ff/i.test(s)).map((s) => ({ k: 'str', s })),
    fc.constantFrom('null', 'undefined', 'fn', 'sym', 'big', 'bigneg', 'obj', 'arr', 'arrbuf', 'u8', 'i32', 'f64', 'dv', 'buf', 'arrOfBuf', 'arrMixed', 'date', 'regex', 'true', 'false', 'objPort', 'objAddr', 'objFd', 'objType4', 'objType6', 'objBad')
      .map((c) => ({ k: 'c', c })),
  );
}
function make(d, ctx) {
  switch (d.k) {
    case 'num': return d.n;
    case 'port': return d.p === 'SINK' ? ctx.sink : ctx.closed;
    case 'str': return d.s;
    default: switch (d.c) {
      case 'null': return null;
      case 'undefined': return undefined;
      case 'fn': return noop;
      case 'sym': return Symbol.for('fuzz');
      case 'big': return 42n;
      case 'bigneg': return -(2n ** 70n);
      case 'obj': return {};
      case 'arr': return [];
      case 'arrbuf': return new ArrayBuffer(4);
      case 'u8': return new Uint8Array([1, 2, 3]);
      case 'i32': return new Int32Array([1, -1]);
      case 'f64': return new Float64Array([0.5]);
      case 'dv': return new DataView(new ArrayBuffer(3));
      case 'buf': return Buffer.from('hello');
      case 'arrOfBuf': return [Buffer.from('a'), 'b'];
      case 'arrMixed': return ['a', 1];
      case 'date': return new Date(0);
      case 'regex': return /x/;
      case 'true': return true;
      case 'false': return false;
      case 'objPort': return { port: ctx.closed, address: '127.0.0.1' };
      case 'objAddr': return { address: 'localhost' };
      case 'objFd': return { fd: 1e6 };
      case 'objType4': return { type: 'udp4' };
      case 'objType6': return { type: 'udp6' };
      case 'objBad': return { type: 'udp5' };
    }
  }
  throw new Error('unreachable');
}

function outcome(fn) {
  try {
    const r = fn();
    if (r === undefined) return { kind: 'undefined' };
    if (r === null) return { kind: 'null' };
    if (typeof r === 'object' && typeof r.on === 'function') return { kind: 'this-or-socket' };
    if (typeof r === 'object') return { kind: 'object', keys: Object.keys(r).sort().join(',') };
    return { kind: typeof r };
  } catch (e) {
    if (!(e instanceof Error)) return { kind: 'throw-non-error', v: String(e) };
    return { kind: 'throw', ctor: e.constructor.name, code: e.code, message: e.message };
  }
}

// Exceptions thrown later, outside the call (node:dgram throws some from its
// queue once the socket is listening): recorded as part of the case's outcome.
let late = null;
process.on('uncaughtException', (e) => { late = (e && (e.code || e.message)) || String(e); });

async function settle(s) {
  for (let i = 0; i < 3; i++) await new Promise(setImmediate);
  try { s.close(); } catch {}
}

// Sets up `state` for one implementation; returns the socket.
async function inState(dgram, type, state, ctx) {
  const s = dgram.createSocket({ type, lookup: loopLookup });
  s.on('error', () => {});
  if (state === 'fresh') return s;
  if (state === 'closed') { await new Promise((r) => s.close(r)); return s; }
  await new Promise((r) => s.bind(0, LOOP[type], r));
  if (state === 'connected') await new Promise((r) => s.connect(ctx.sink, LOOP[type], r));
  return s;
}

// node:dgram aborts the process (C++ CHECK args[0]->IsUint32() in
// UDPWrap::BufferSize) for setRecvBufferSize(-0)/setSendBufferSize(-0): its
// `size >>> 0 !== size` check lets -0 through. Such cases cannot run on the
// oracle; udpkit treats -0 as 0 (see docs/reliability.md).
// Likewise, connect(port, address, <truthy non-function>) makes node:dgram
// throw later, from its queue, as an uncaught exception (a mismatch class of
// its own, see KNOWN): under the test runner that cannot be attributed to the
// case, so CI skips it and `--long` records it.
function truthyNonFunction(d) {
  if (!d) return false;
  if (d.k === 'num') return d.n !== 0 && !Number.isNaN(d.n);
  if (d.k === 'str') return d.s !== '';
  if (d.k === 'port') return true;
  return !['null', 'undefined', 'false', 'fn'].includes(d.c);
}
function oracleCrashes(c) {
  if (!LONG && c.what === 'method' && c.method === 'connect' && c.state !== 'closed' && truthyNonFunction(c.args[2])) return true;
  return c.what === 'method' && /^set(Recv|Send)BufferSize$/.test(c.method) && c.args[0] && c.args[0].k === 'num' && Object.is(c.args[0].n, -0);
}

function caseArb() {
  return fc.oneof(
    { weight: 9, arbitrary: fc.record({ what: fc.constant('method'), method: fc.constantFrom(...Object.keys(METHODS)), state: fc.constantFrom(...STATES), type: fc.constantFrom('udp4', 'udp6'), args: fc.array(valueArb(), { maxLength: 6 }) }) },
    { weight: 1, arbitrary: fc.record({ what: fc.constant('createSocket'), args: fc.array(valueArb(), { maxLength: 2 }), opts: fc.option(fc.record({ type: valueArb(), lookup: valueArb(), recvBufferSize: valueArb(), sendBufferSize: valueArb(), reuseAddr: valueArb(), ipv6Only: valueArb() }, { requiredKeys: ['type'] })) }) },
  ).filter((c) => !oracleCrashes(c));
}

async function runCase(c, ctx) {
  const out = {};
  for (const [name, dgram] of Object.entries(IMPLS)) {
    const c2 = { ...ctx[name] };
    if (c.what === 'createSocket') {
      let args = c.args.map((d) => make(d, c2));
      if (c.opts) {
        const o = {};
        for (const [k, d] of Object.entries(c.opts)) o[k] = make(d, c2);
        if (typeof o.lookup !== 'function' && o.lookup !== undefined) { /* invalid lookup: validation only */ } else o.lookup = loopLookup;
        args = [o, ...args.slice(1)];
      }
      out[name] = outcome(() => {
        const s = dgram.createSocket(...args);
        s.on('error', () => {});
        try { s.close(); } catch {}
        return s;
      });
    } else {
      const s = await inState(dgram, c.type, c.state, c2);
      const args = c.args.slice(0, METHODS[c.method] + 1).map((d) => make(d, c2));
      late = null;
      out[name] = outcome(() => s[c.method](...args));
      await settle(s);
      if (late !== null) out[name].late = late;
      late = null;
    }
  }
  return out;
}

function describe(c) {
  const args = (c.args || []).map((d) => (d.k === 'num' ? (Object.is(d.n, -0) ? '-0' : String(d.n)) : d.k === 'str' ? JSON.stringify(d.s) : d.k === 'port' ? d.p : d.c));
  return c.what === 'createSocket' ? `createSocket(${c.opts ? 'opts{type:' + JSON.stringify(c.opts.type) + '...}' : args.join(', ')})` : `${c.type}/${c.state}: ${c.method}(${args.join(', ')})`;
}

async function makeCtx() {
  const ctx = {};
  for (const [name, dgram] of Object.entries(IMPLS)) {
    const sink = dgram.createSocket('udp4'); sink.on('message', () => {}); sink.on('error', () => {});
    await new Promise((r) => sink.bind(0, '127.0.0.1', r));
    const tmp = dgram.createSocket('udp4');
    await new Promise((r) => tmp.bind(0, '127.0.0.1', r));
    const closed = tmp.address().port;
    await new Promise((r) => tmp.close(r));
    ctx[name] = { sink: sink.address().port, closed, sinkSocket: sink };
  }
  // The sink's port differs between the two runs: error messages that quote a
  // port must not make a difference. Both sinks' ports get replaced by SINK.
  return ctx;
}
function normalise(o, ctx) {
  if (o.kind !== 'throw' || typeof o.message !== 'string') return o;
  let m = o.message;
  for (const name of Object.keys(ctx)) m = m.split(String(ctx[name].sink)).join('<SINK>').split(String(ctx[name].closed)).join('<CLOSED>');
  return { ...o, message: m };
}

// Mismatch classes found by this fuzzer and reported (udpkit bugs unless
// noted). The CI property tolerates exactly these and fails on anything new;
// a `todo` test per class keeps each visible until it is fixed.
const isSym = (d) => d && d.k === 'c' && ['sym', 'big', 'bigneg'].includes(d.c);
const unescape = (m) => m;
const KNOWN = {
  'node:dgram throws later, uncaught, from its queue, where udpkit accepts silently (e.g. send(msg, true, {}, "0") or bind(1n) on an unbound socket)':
    (c, r) => r.node.late !== undefined && r.udpkit.late === undefined && r.node.kind === r.udpkit.kind,
  // libuv creates an IPv6 descriptor behind a fresh udp4 socket for an IPv6 group; udpkit keeps the socket's family.
  'an IPv6 group on a udp4 socket without a descriptor: node EINVAL or success (libuv makes an IPv6 socket), udpkit ENOPROTOOPT':
    (c, r) => c.what === 'method' && /Membership$/.test(c.method) && c.state === 'fresh' && r.udpkit.code === 'ENOPROTOOPT',
};
void unescape;
function knownClass(c, r) {
  for (const [name, pred] of Object.entries(KNOWN)) if (pred(c, r)) return name;
  return null;
}

async function fuzz({ numRuns, seed, collect }) {
  const ctx = await makeCtx();
  let cases = 0;
  const mismatches = new Map();
  const knownSeen = new Map();
  const prop = fc.asyncProperty(caseArb(), async (c) => {
    cases++;
    const r = await runCase(c, ctx);
    const a = JSON.stringify(normalise(r.node, ctx));
    const b = JSON.stringify(normalise(r.udpkit, ctx));
    if (a === b) return true;
    const known = knownClass(c, r);
    if (known) { knownSeen.set(known, (knownSeen.get(known) || 0) + 1); if (!collect) return true; }
    if (!collect) throw new Error(`mismatch for ${describe(c)}\n  node:   ${a}\n  udpkit: ${b}`);
    const key = known ? `KNOWN ${known}` : c.what === 'createSocket' ? `createSocket | node ${r.node.code || r.node.kind} | udpkit ${r.udpkit.code || r.udpkit.kind}`
      : `${c.method} [${c.state}] | node ${r.node.code || r.node.kind} | udpkit ${r.udpkit.code || r.udpkit.kind}`;
    if (!mismatches.has(key)) mismatches.set(key, { count: 0, example: `${describe(c)}\n    node:   ${a}\n    udpkit: ${b}` });
    mismatches.get(key).count++;
    return true;
  });
  await fc.assert(prop, { numRuns, seed, endOnFailure: true });
  for (const { sinkSocket } of Object.values(ctx)) sinkSocket.close();
  return { cases, mismatches, knownSeen };
}

if (process.argv[2] === '--long') {
  const runs = Number(process.argv[3] || 20000);
  const seed = Number(process.argv[4] || Date.now() % 2 ** 31);
  fuzz({ numRuns: runs, seed, collect: true }).then(({ cases, mismatches }) => {
    console.log(JSON.stringify({ suite: 'differential', seed, cases, mismatchClasses: mismatches.size }));
    for (const [k, v] of mismatches) console.log(`MISMATCH ${k} (x${v.count})\n    ${v.example}`);
    process.exitCode = mismatches.size ? 1 : 0;
  });
} else {
  const test = require('node:test');
  const assert = require('node:assert/strict');
  test(`differential fuzz: ~2000 random calls (seed ${SEED}), node:dgram and udpkit agree`, async (t) => {
    const { cases, knownSeen } = await fuzz({ numRuns: 2000, seed: SEED, collect: false });
    t.diagnostic(`cases: ${cases}; known mismatches seen: ${[...knownSeen].map(([k, n]) => `${n}× ${k.slice(0, 40)}…`).join('; ') || 'none'}`);
    result = knownSeen;
  });
  let result = new Map();
  for (const name of Object.keys(KNOWN)) {
    test(`known mismatch fixed: ${name}`, { todo: 'reported; remove from KNOWN when fixed' }, () => {
      assert.equal(result.get(name) || 0, 0, `${result.get(name)} cases`);
    });
  }
}
