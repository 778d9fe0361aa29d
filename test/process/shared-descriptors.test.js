'use strict';
// A descriptor other processes may hold must never have a datagram read from
// it that is not delivered: a process that closes its socket inside 'message'
// leaves the rest in the kernel for the others, as node:dgram does. Shared
// here with bind({ fd }) in children and, in the parent, by a socket whose
// descriptor was read from `_handle.fd` to be passed on. (Cluster sharing:
// the close-after-ten scenario in cluster.test.js.)
//
// The datagrams are queued in the kernel before anyone reads, so a reader
// that takes a batch at once would take them all: the outcome does not
// depend on which process wakes first.
const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const { spawn } = require('node:child_process');
const nodeDgram = require('node:dgram');
const { ROOT } = require('../fixtures/process/run.js');

const udpkit = require(path.join(ROOT, 'dist', 'index.js'));
const { nativeDatapath } = require(path.join(ROOT, 'dist', 'datapath', 'native.js'));
const IMPLS = { node: nodeDgram, udpkit };
const FIXTURE = path.join(__dirname, '..', 'fixtures', 'process', 'fd-share-child.js');
const LIMIT = 10;

// Node 26 dropped the underscore members (DEP0112); there node:dgram's handle
// is only in its state symbol. Where udpkit has no _handle either, nothing
// hands a udpkit socket's descriptor out, and the tests that need it skip.
const UDPKIT_HAS_HANDLE = '_handle' in udpkit.Socket.prototype;

function legacyFd(socket) {
  const noDeprecation = process.noDeprecation;
  process.noDeprecation = true; // _handle is DEP0112 in both
  try {
    if ('_handle' in socket) return socket._handle.fd;
    const state = Object.getOwnPropertySymbols(socket).find((sym) => String(sym) === 'Symbol(state symbol)');
    return socket[state].handle.fd;
  } finally {
    process.noDeprecation = noDeprecation;
  }
}

function lines(stream, onLine) {
  let buf = '';
  stream.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
}

/** A child that wraps descriptor `fd` (bind({ fd: 3 })), counts, and closes after LIMIT. */
function shareWithChild(impl, fd, token) {
  const proc = spawn(process.execPath, [FIXTURE], {
    env: { ...process.env, IMPL: impl, TOKEN: token, LIMIT: String(LIMIT), NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'inherit', fd],
  });
  const closed = new Promise((resolve) => {
    lines(proc.stdout, (line) => { if (line.startsWith('closed ')) resolve(Number(line.slice(7))); });
  });
  const exited = new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, closed, exited };
}

async function sendAll(port, token, count) {
  const sender = udpkit.createSocket('udp4');
  for (let i = 0; i < count; i++) {
    await new Promise((resolve, reject) => sender.send(token + i, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
  }
  sender.close();
}

/** Waits for every count; a datagram read and dropped never arrives anywhere, so a deadline only decides failure. */
async function outcome(counts, children, onLost) {
  let timer;
  const lost = new Promise((resolve) => { timer = setTimeout(resolve, 10000, 'lost'); });
  const got = await Promise.race([Promise.all(counts), lost]);
  clearTimeout(timer);
  if (got === 'lost') {
    onLost();
    for (const c of children) c.proc.kill('SIGKILL');
    return 'lost';
  }
  return { counts: got, codes: await Promise.all(children.map((c) => c.exited)) };
}

/** Two `child` processes share one bound descriptor (bind({ fd: 3 })); 2 * LIMIT datagrams wait in it. */
async function childrenShare(child) {
  const token = `c${process.pid}:${child}:`;
  const holder = nativeDatapath.createSocket(4); // binds, never reads
  assert.strictEqual(holder.bind('127.0.0.1', 0, 0), 0);
  await sendAll(holder.localAddress().port, token, 2 * LIMIT);
  const children = [0, 1].map(() => shareWithChild(child, holder.fd(), token));
  holder.close();
  return outcome(children.map((c) => c.closed), children, () => {});
}

/** A `parent` socket whose `_handle.fd` went to a `child` process; 2 * LIMIT datagrams arrive before either reads. */
async function parentShares(parent, child) {
  const token = `p${process.pid}:${parent}:${child}:`;
  const owner = IMPLS[parent].createSocket('udp4');
  let count = 0;
  let open = true;
  const closed = new Promise((resolve) => {
    owner.on('message', (msg) => {
      if (!msg.toString().startsWith(token) || ++count !== LIMIT) return;
      open = false;
      owner.close(() => resolve(count));
    });
  });
  await new Promise((resolve) => owner.bind(0, '127.0.0.1', resolve));
  const port = owner.address().port;
  const sender = nodeDgram.createSocket('udp4');
  await new Promise((resolve) => sender.bind(0, '127.0.0.1', resolve));
  const c = shareWithChild(child, legacyFd(owner), token);
  // All sent before the loop polls again, so before the owner reads.
  let left = 2 * LIMIT;
  for (let i = 0; i < 2 * LIMIT; i++) sender.send(token + i, port, '127.0.0.1', () => { if (--left === 0) sender.close(); });
  return outcome([closed, c.closed], [c], () => { if (open) owner.close(); });
}

const EXPECTED = { counts: [LIMIT, LIMIT], codes: [0, 0] };

test(`bind({ fd }): two udpkit children share a descriptor; each takes its ${LIMIT} and leaves the rest, as node:dgram children do`, { timeout: 60000 }, async () => {
  assert.deepStrictEqual(await childrenShare('node'), EXPECTED, 'node:dgram itself');
  assert.deepStrictEqual(await childrenShare('udpkit'), EXPECTED);
});

for (const child of ['node', 'udpkit']) {
  test(`_handle.fd: a udpkit socket whose descriptor went to a ${child} child takes its ${LIMIT} and leaves the rest, as node:dgram does`, { timeout: 60000, skip: !UDPKIT_HAS_HANDLE && 'no _handle on this Node line' }, async () => {
    assert.deepStrictEqual(await parentShares('node', child), { counts: [LIMIT, LIMIT], codes: [0] }, 'node:dgram itself');
    assert.deepStrictEqual(await parentShares('udpkit', child), { counts: [LIMIT, LIMIT], codes: [0] });
  });
}

test('a descriptor handed out through _handle.fd carries plain datagrams: a node:dgram child gets a same-size batch one by one', { timeout: 60000, skip: !UDPKIT_HAS_HANDLE && 'no _handle on this Node line' }, async () => {
  // udpkit turns receive coalescing (UDP_GRO) on for its own sockets; left on,
  // a node:dgram reader of the same descriptor got one datagram of 8 * 100
  // bytes for a sendMany that the kernel sent as one segmented send.
  const token = `g${process.pid}:`;
  const owner = udpkit.createSocket('udp4');
  await new Promise((resolve) => owner.bind(0, '127.0.0.1', resolve));
  const port = owner.address().port;
  const c = shareWithChild('node', legacyFd(owner), token);
  owner.close(); // the child's copy keeps the socket
  const sender = udpkit.createSocket('udp4');
  await new Promise((resolve) => sender.bind(0, '127.0.0.1', resolve));
  const data = Buffer.alloc(100, 'x');
  data.write(token);
  const list = Array.from({ length: LIMIT }, () => ({ data, port, address: '127.0.0.1' }));
  assert.strictEqual(await new Promise((resolve) => sender.sendMany(list, (err, sent) => resolve(err || sent))), LIMIT);
  sender.close();
  assert.deepStrictEqual(await outcome([c.closed], [c], () => {}), { counts: [LIMIT], codes: [0] });
});
