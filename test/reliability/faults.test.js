'use strict';
// Faults, udpkit against node:dgram: every scenario runs on both and the
// errors are compared field by field (constructor, code, errno, syscall,
// message, address, port). Loopback only; the send-buffer-full flood runs in a
// private network namespace whose own loopback is rate-shaped (tbf), because
// the host's loopback never pushes back (see docs/reliability.md).
//
// This file doubles as the child script of the shaped-namespace scenarios:
// `node faults.test.js --shaped-child <impl> <mode> <count> <size>`.
if (process.argv[2] === '--shaped-child') { shapedChild(...process.argv.slice(3)); return; }

const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const { loadImpl, implSpecifier } = require('../helpers/impls.js');
const { errorFields, withTimeout } = require('../helpers/util.js');

const IMPLS = { node: loadImpl('node'), udpkit: loadImpl('udpkit') };
const LOOP = { udp4: '127.0.0.1', udp6: '::1' };
const once = (em, ev) => new Promise((res) => em.once(ev, res));

async function bound(dgram, type, opts = {}) {
  const s = dgram.createSocket({ type, ...opts });
  s.bind(0, LOOP[type]);
  await withTimeout(once(s, 'listening'), 'listening');
  return s;
}
const close = (s) => withTimeout(new Promise((r) => { try { s.close(r); } catch { r(); } }), 'close');

// A free (closed) port: bind, read the port, close.
async function closedPort(dgram, type) {
  const s = await bound(dgram, type);
  const port = s.address().port;
  await close(s);
  return port;
}

// Runs fn(dgram) on both implementations and returns { node, udpkit }.
async function both(fn) {
  return { node: await fn(IMPLS.node), udpkit: await fn(IMPLS.udpkit) };
}

// Errors carry the port the test picked, which differs between the two runs:
// compare port presence and type, not the number.
function normalise(f, port) {
  const out = { ...f };
  if (typeof out.port === 'number') out.port = out.port === port ? '<port>' : out.port;
  if (typeof out.message === 'string' && port) out.message = out.message.replace(`:${port}`, ':<port>');
  return out;
}

for (const type of ['udp4', 'udp6']) {
  test(`${type}: ICMP port unreachable on a connected socket → 'error' ECONNREFUSED (recvmsg), same as node`, async () => {
    const r = await both(async (dgram) => {
      const port = await closedPort(dgram, type);
      const s = dgram.createSocket(type);
      const connected = once(s, 'connect');
      s.connect(port, LOOP[type]);
      await withTimeout(connected, 'connect');
      const errored = withTimeout(once(s, 'error'), "'error'");
      let sendErr = 'unset';
      s.send('ping', (e) => { sendErr = e; });
      const err = await errored;
      await close(s);
      return { err: normalise(errorFields(err), port), sendErr: sendErr && sendErr.code };
    });
    assert.equal(r.udpkit.err.code, 'ECONNREFUSED');
    assert.equal(r.udpkit.err.syscall, 'recvmsg');
    assert.deepEqual(r.udpkit, r.node);
  });

  test(`${type}: EMSGSIZE for an oversized datagram, same error as node, socket still usable`, async () => {
    const size = type === 'udp4' ? 65508 : 65528; // 65507 / 65527 are the largest that fit
    const r = await both(async (dgram) => {
      const rx = await bound(dgram, type);
      const tx = await bound(dgram, type);
      const port = rx.address().port;
      const got = once(rx, 'message');
      const err = await withTimeout(new Promise((res) => tx.send(Buffer.alloc(size), port, LOOP[type], (e) => res(e))), 'send callback');
      const ok = await withTimeout(new Promise((res) => tx.send(Buffer.alloc(size - 1), port, LOOP[type], (e, n) => res([e, n]))), 'send callback');
      const [msg] = await withTimeout(got, 'message');
      await close(rx); await close(tx);
      return { err: normalise(errorFields(err), port), ok, received: msg.length };
    });
    assert.equal(r.udpkit.err.code, 'EMSGSIZE');
    assert.deepEqual(r.udpkit, r.node);
  });

  test(`${type}: binding an address the host does not have → EADDRNOTAVAIL, same as node`, async () => {
    // Documentation-range addresses (RFC 5737/3849): binding sends no traffic.
    const address = type === 'udp4' ? '192.0.2.1' : '2001:db8::1';
    const r = await both(async (dgram) => {
      const s = dgram.createSocket(type);
      s.bind(4321, address);
      const err = await withTimeout(once(s, 'error'), "'error'");
      await close(s);
      return errorFields(err);
    });
    assert.equal(r.udpkit.code, 'EADDRNOTAVAIL');
    assert.deepEqual(r.udpkit, r.node);
  });

  test(`${type}: datagrams larger than the receiver's buffer: same delivery as node`, async () => {
    // The kernel admits one datagram into an empty queue whatever its size and
    // drops the following ones while the queue is over SO_RCVBUF.
    const r = await both(async (dgram) => {
      const rx = await bound(dgram, type, { recvBufferSize: 2048 });
      const tx = await bound(dgram, type);
      const port = rx.address().port;
      const sizes = [];
      rx.on('message', (m) => sizes.push(m.length));
      const first = once(rx, 'message');
      for (let i = 0; i < 4; i++) tx.send(Buffer.alloc(30000 + i), port, LOOP[type]);
      await withTimeout(first, 'first message');
      const marker = once(rx, 'message');
      tx.send('end', port, LOOP[type]);
      await withTimeout(marker, 'marker');
      const buf = rx.getRecvBufferSize();
      await close(rx); await close(tx);
      return { sizes, buf };
    });
    assert.deepEqual(r.udpkit, r.node);
    assert.equal(r.udpkit.sizes.at(-1), 3);
  });
}

// ---------------------------------------------------------------- EMFILE

const EMFILE_CHILD = `
const dgram = require(process.argv[1]);
const held = []; let n = 0;
function report(stage, e) { console.log(JSON.stringify({ stage, opened: n, code: e.code, errno: e.errno, syscall: e.syscall, message: e.message, ctor: e.constructor.name })); process.exit(0); }
function next() {
  let s;
  try { s = dgram.createSocket('udp4'); } catch (e) { return report('createSocket', e); }
  s.on('error', (e) => report('error-event', e));
  try { s.bind(0, '127.0.0.1', () => { held.push(s); n++; next(); }); } catch (e) { return report('bind-throw', e); }
}
next();
`;

function runLimited(impl, limit) {
  const r = spawnSync('bash', ['-c', `ulimit -n ${limit} && exec "$0" -e "$1" "$2"`, process.execPath, EMFILE_CHILD, implSpecifier(impl)],
    { encoding: 'utf8', timeout: 20000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

test('EMFILE: sockets opened until the descriptor limit — same failing call and error as node', () => {
  const node = runLimited('node', 40);
  const udpkit = runLimited('udpkit', 40);
  // Baseline descriptors differ by a few (the addon, node's internals), so
  // compare the failure, not the count; both must open some and then fail.
  assert.ok(udpkit.opened > 5 && node.opened > 5, JSON.stringify({ node, udpkit }));
  const { opened: _a, ...nodeErr } = node;
  const { opened: _b, ...udpkitErr } = udpkit;
  assert.equal(udpkitErr.code, 'EMFILE');
  assert.deepEqual(udpkitErr, nodeErr);
});

// ------------------------------------------------- privileged port, non-root

const PRIV_CHILD = `
const dgram = require(process.argv[1]);
const s = dgram.createSocket('udp4');
s.on('error', (e) => { console.log(JSON.stringify({ code: e.code, errno: e.errno, syscall: e.syscall, message: e.message, address: e.address, port: e.port })); process.exit(0); });
s.bind(80, '127.0.0.1', () => { console.log(JSON.stringify({ bound: true })); s.close(); });
`;

// The child stays root but loses CAP_NET_BIND_SERVICE, the one capability
// that matters here: switching to another user (nobody) instead would need the
// checkout to be readable by that user, which it is not under a 0700 home.
const DROP_BIND_CAP = ['--bounding-set=-net_bind_service', '--inh-caps=-net_bind_service'];

function probeSetpriv() {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'not root: cannot drop a capability';
  const r = spawnSync('setpriv', [...DROP_BIND_CAP, process.execPath, '-e', '0'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return `setpriv unusable: ${r.error ? r.error.message : r.stderr}`;
  return null;
}
const privSkip = probeSetpriv();

test('binding a privileged port without CAP_NET_BIND_SERVICE → EACCES, same as node', { skip: privSkip || false }, () => {
  const run = (impl) => {
    const r = spawnSync('setpriv', [...DROP_BIND_CAP, process.execPath, '-e', PRIV_CHILD, implSpecifier(impl)],
      { encoding: 'utf8', timeout: 20000 });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout.trim());
  };
  const node = run('node');
  const udpkit = run('udpkit');
  // If the host lowered net.ipv4.ip_unprivileged_port_start both bind: still equal.
  assert.deepEqual(udpkit, node);
});

// -------------------------------------------- send buffer full (shaped netns)

function shapedChild(implPath, mode, count, size) {
  const dgram = require(implPath);
  const N = Number(count);
  const out = { mode, maxCount: 0, maxSize: 0, calls: {}, inOrder: true, dupes: 0, never: 0 };
  const rx = dgram.createSocket('udp4');
  rx.bind(0, '127.0.0.1', () => {
    if (mode === 'paused') rx.pauseReceiving();
    const port = rx.address().port;
    const go = () => {
      const tx = dgram.createSocket({ type: 'udp4', sendBufferSize: 4096 });
      tx.on('error', (e) => { out.socketError = e.code; });
      tx.bind(0, '127.0.0.1', () => {
        const counts = new Array(N).fill(0);
        let settled = 0; let next = 0;
        const sample = () => {
          out.maxCount = Math.max(out.maxCount, tx.getSendQueueCount());
          out.maxSize = Math.max(out.maxSize, tx.getSendQueueSize());
        };
        const report = () => {
          out.dupes = counts.filter((c) => c > 1).length;
          out.never = counts.filter((c) => c === 0).length;
          if (mode !== 'closedport') rx.close();
          console.log(JSON.stringify(out));
        };
        const buf = Buffer.alloc(Number(size));
        for (let i = 0; i < N; i++) {
          tx.send(buf, port, '127.0.0.1', (err) => {
            if (++counts[i] > 1) return;
            if (i !== next) out.inOrder = false;
            next = i + 1;
            const k = err ? err.code : 'ok';
            out.calls[k] = (out.calls[k] || 0) + 1;
            if (mode !== 'closeWhileBlocked') sample();
            if (++settled === N && mode !== 'closeWhileBlocked') {
              out.endCount = tx.getSendQueueCount();
              out.endSize = tx.getSendQueueSize();
              tx.close();
              // a few more turns so that a second call of any callback would show
              let k = 0; const spin = () => (++k < 10 ? setImmediate(spin) : report()); spin();
            }
          });
        }
        setImmediate(() => {
          sample();
          out.blockedAtFirstTurn = out.maxCount;
          if (mode === 'closeWhileBlocked') {
            tx.close(() => { let k = 0; const spin = () => (++k < 20 ? setImmediate(spin) : report()); spin(); });
          }
        });
      });
    };
    if (mode === 'closedport') rx.close(go); else go();
  });
}

// Runs the child in a new network namespace whose loopback is shaped with a
// token bucket, so that datagrams wait in the qdisc and the sender's small
// SO_SNDBUF fills: sends return EAGAIN. Returns null (with reason) if the
// namespace cannot be made.
function runShaped(impl, mode, count = 500, size = 1000) {
  const script = 'ip link set lo up && tc qdisc add dev lo root tbf rate 10mbit burst 16kb latency 2000ms && exec "$0" "$1" --shaped-child "$2" "$3" "$4" "$5"';
  const r = spawnSync('unshare', ['-n', 'bash', '-c', script, process.execPath, __filename, implSpecifier(impl), mode, String(count), String(size)],
    { encoding: 'utf8', timeout: 30000 });
  if (r.error || (r.status !== 0 && /unshare|RTNETLINK|Operation not permitted|qdisc/i.test(r.stderr))) return { skip: (r.error && r.error.message) || r.stderr.trim() };
  if (r.signal) throw new Error(`child killed by ${r.signal}: ${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const shapedProbe = spawnSync('unshare', ['-n', 'bash', '-c', 'ip link set lo up && tc qdisc add dev lo root tbf rate 10mbit burst 16kb latency 2000ms'], { encoding: 'utf8' });
const shapedSkip = shapedProbe.error || shapedProbe.status !== 0
  ? `cannot make a shaped network namespace (needs root, unshare, tc/sch_tbf): ${shapedProbe.error ? shapedProbe.error.message : shapedProbe.stderr.trim()}` : false;

test('send buffer full: 500 sends in one tick, SO_SNDBUF 4096, loopback shaped to 10 Mbit/s, receiver paused — every callback once, in order; queue > 0 while blocked, 0 at the end', { skip: shapedSkip }, () => {
  const r = runShaped('udpkit', 'paused');
  assert.ok(r.maxCount > 0 && r.maxSize > 0, `never blocked: ${JSON.stringify(r)}`);
  assert.deepEqual(r.calls, { ok: 500 });
  assert.equal(r.inOrder, true);
  assert.equal(r.dupes, 0);
  assert.equal(r.never, 0);
  assert.equal(r.endCount, 0);
  assert.equal(r.endSize, 0);
});

test('send buffer full to a closed port: same outcome as node (callbacks once, in order, queue drains to 0)', { skip: shapedSkip }, () => {
  const node = runShaped('node', 'closedport');
  const udpkit = runShaped('udpkit', 'closedport');
  for (const r of [node, udpkit]) {
    assert.ok(r.maxCount > 0, `never blocked: ${JSON.stringify(r)}`);
    assert.deepEqual(r.calls, { ok: 500 });
    assert.equal(r.inOrder, true);
    assert.equal(r.dupes, 0);
    assert.equal(r.endCount, 0);
    assert.equal(r.endSize, 0);
  }
});
