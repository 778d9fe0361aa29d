'use strict';
// Harness for differential tests: run the same case against node:dgram and
// udpkit, each on its own socket prepared in the same state, and compare a
// projection of the outcome (returned value, or the error thrown/delivered).

const nodeDgram = require('node:dgram');
const { loadImpl } = require('./impls.js');
const { LOOPBACK, withTimeout, nextEvent, closeAll, errorFields } = require('./util.js');

// UDPKIT_DIFF_AGAINST=node compares node:dgram with itself: a check that the
// cases are deterministic (the oracle run). Default: node:dgram vs udpkit.
const OTHER = process.env.UDPKIT_DIFF_AGAINST === 'node' ? 'node' : 'udpkit';

let other = null;
let otherLoadError = null;
try {
  other = OTHER === 'node' ? nodeDgram : loadImpl('udpkit');
} catch (err) {
  otherLoadError = err;
}

const noop = () => {};

// A dgram facade that remembers every socket the case creates, to close it.
function tracking(dgram, created) {
  return {
    createSocket(...args) {
      const s = dgram.createSocket(...args);
      s.on('error', noop);
      created.push(s);
      return s;
    },
    Socket: dgram.Socket,
    real: dgram,
  };
}

// Peer sockets (always node:dgram): an endpoint that exists and discards.
const peers = {};
async function peerFor(type) {
  if (!peers[type]) {
    const p = nodeDgram.createSocket(type);
    const l = nextEvent(p, 'listening');
    p.bind(0, LOOPBACK[type]);
    await l;
    p.unref();
    peers[type] = p;
  }
  return peers[type];
}

// A port nothing listens on: bind, read the port, close.
async function deadPort(type) {
  const p = nodeDgram.createSocket(type);
  const l = nextEvent(p, 'listening');
  p.bind(0, LOOPBACK[type]);
  await l;
  const port = p.address().port;
  await closeAll([p]);
  return port;
}

async function prepare(dgram, state, type, ctx, created) {
  if (state === 'none') return null;
  const s = dgram.createSocket(type);
  s.on('error', noop);
  created.push(s);
  if (state === 'fresh') return s;
  if (state === 'closed') { s.close(); return s; }
  const l = nextEvent(s, 'listening');
  s.bind(0, LOOPBACK[type]);
  await l;
  if (state === 'bound') return s;
  if (state === 'connected') {
    const c = nextEvent(s, 'connect');
    s.connect(ctx.peerPort, LOOPBACK[type]);
    await c;
    return s;
  }
  if (state === 'closedBound') {
    const c = nextEvent(s, 'close');
    s.close();
    await c;
    return s;
  }
  throw new Error(`unknown state ${state}`);
}

// Replace the run-specific port numbers in a projected value.
function normalizePorts(str, ports) {
  let out = str;
  for (const [port, label] of ports) {
    if (port) out = out.split(`:${port}`).join(`:<${label}>`).split(`(${port})`).join(`(<${label}>)`);
  }
  return out;
}

function project(v, env, depth = 0) {
  const { s, dgram, ports } = env;
  if (depth > 4) return '<deep>';
  if (v === undefined) return '<undefined>';
  if (v === null || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    for (const [port, label] of ports) if (port && v === port) return `<${label}>`;
    if (Number.isNaN(v)) return '<NaN>';
    return v;
  }
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'string') return normalizePorts(v, ports);
  if (typeof v === 'symbol') return v.toString();
  if (typeof v === 'function') return `<function ${v.name}>`;
  if (s && v === s) return '<this socket>';
  if (dgram && v instanceof dgram.Socket) return '<a Socket>';
  if (v instanceof Error) return { error: project(errorFields(v), env, depth + 1) };
  if (Buffer.isBuffer(v)) return `<Buffer ${v.toString('hex')}>`;
  if (v instanceof Promise) return '<Promise>';
  if (Array.isArray(v)) return v.map((x) => project(x, env, depth + 1));
  const out = {};
  for (const k of Object.keys(v).sort()) out[k] = project(v[k], env, depth + 1);
  return out;
}

// Runs one case on one implementation. kind: 'sync' | 'async'.
async function runOne(dgram, kind, state, type, fn, ctx) {
  const created = [];
  const d = tracking(dgram, created);
  let s = null;
  let outcome;
  try {
    s = await prepare(dgram, state, type, ctx, created);
    const ownPort = s && ['bound', 'connected'].includes(state) ? s.address().port : undefined;
    const env = { s, dgram, ports: [[ownPort, 'own port'], [ctx.peerPort, 'peer port'], [ctx.deadPort, 'dead port']] };
    if (kind === 'sync') {
      try {
        outcome = { returned: project(fn(d, s, ctx), env) };
      } catch (err) {
        outcome = { threw: project(errorFields(err), env) };
      }
    } else {
      try {
        const v = await withTimeout(Promise.resolve().then(() => fn(d, s, ctx)), 'async case outcome', 4000);
        outcome = { resolved: project(v, env) };
      } catch (err) {
        outcome = { rejected: project(errorFields(err), env) };
      }
    }
  } finally {
    // Cleanup only: some sockets never emit 'close' in node either (e.g. after a
    // failed implicit-bind lookup), so this wait is capped and not asserted.
    for (const x of created) { try { x.unref(); } catch { /* closed */ } }
    await Promise.race([closeAll(created).catch(() => {}), new Promise((r) => setTimeout(r, 500).unref())]);
  }
  return outcome;
}

// Registers the cases with node:test. Each case: [description, state, fn, families?]
// state: 'none' | 'fresh' | 'bound' | 'connected' | 'closed' | 'closedBound'.
// families defaults to ['udp4', 'udp6'] (for 'none', the type is passed in ctx.type).
function registerCases(test, kind, cases) {
  const seen = new Set();
  for (const [desc, state, fn, families = ['udp4', 'udp6']] of cases) {
    for (const type of families) {
      let name = state === 'none' && families.length === 1 ? desc : `[${type} ${state}] ${desc}`;
      for (let i = 2; seen.has(name); i++) name = `${name.replace(/ #\d+$/, '')} #${i}`;
      seen.add(name);
      test(name, async () => {
        if (otherLoadError) throw otherLoadError;
        const ctx = { type, peerPort: (await peerFor(type)).address().port, loop: LOOPBACK[type] };
        ctx.deadPort = await deadPort(type);
        const expected = await runOne(nodeDgram, kind, state, type, fn, ctx);
        const actual = await runOne(other, kind, state, type, fn, ctx);
        require('node:assert/strict').deepStrictEqual(actual, expected);
      });
    }
  }
}

module.exports = { registerCases, project, OTHER };
