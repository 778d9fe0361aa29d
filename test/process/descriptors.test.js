'use strict';
// Descriptors across processes: a bound socket's descriptor passed to a child
// on stdio (bind({ fd: 3 }) there), systemd-style socket activation, and what
// child.send(msg, socket) does with a udpkit socket.
const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const { spawn, fork } = require('node:child_process');
const nodeDgram = require('node:dgram');
const { ROOT } = require('../fixtures/process/run.js');

const udpkit = require(path.join(ROOT, 'dist', 'index.js'));
const IMPLS = { node: nodeDgram, udpkit };
const FIXTURE = path.join(__dirname, '..', 'fixtures', 'process', 'fd-child.js');
const LOOP = { udp4: '127.0.0.1', udp6: '::1' };
// Node 25 removed Socket#_handle (DEP0112), node:dgram's only way to read a socket's descriptor.
const NO_HANDLE = !('_handle' in nodeDgram.Socket.prototype) && 'this Node has no Socket#_handle to read a descriptor from';

function legacyFd(socket) {
  // socket._handle is deprecated (DEP0112) in both; silence the warning here.
  const d = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(socket), '_handle') ||
    Object.getOwnPropertyDescriptor(nodeDgram.Socket.prototype, '_handle');
  const noDeprecation = process.noDeprecation;
  process.noDeprecation = true;
  try { return d ? d.get.call(socket)?.fd : socket._handle?.fd; } finally { process.noDeprecation = noDeprecation; }
}

function firstLine(stream) {
  return new Promise((resolve, reject) => {
    let buf = '';
    stream.on('data', (d) => {
      buf += d;
      const i = buf.indexOf('\n');
      if (i >= 0) resolve(buf.slice(0, i));
    });
    stream.on('end', () => reject(new Error('no line before end: ' + buf)));
  });
}

function exited(child) {
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
}

async function echo(address, port, family, text) {
  const c = udpkit.createSocket(family);
  try {
    const reply = new Promise((resolve, reject) => {
      // Loopback is shared with other processes: take only the service's reply.
      c.on('message', (msg, rinfo) => {
        if (rinfo.port === port && msg.toString().startsWith('echo:')) resolve({ msg: msg.toString(), rinfo });
      });
      c.on('error', reject);
    });
    c.send(text, port, address);
    return await reply;
  } finally {
    c.close();
  }
}

for (const family of ['udp4', 'udp6']) {
  for (const parent of ['udpkit', 'node']) {
    for (const child of ['udpkit', 'node']) {
      test(`${family}: ${parent} socket's fd passed on stdio; ${child} child binds { fd: 3 } and owns it`, { timeout: 20000, skip: NO_HANDLE }, async () => {
        const s = IMPLS[parent].createSocket(family);
        await new Promise((resolve) => s.bind(0, LOOP[family], resolve));
        const port = s.address().port;
        const fd = legacyFd(s);
        assert.ok(Number.isInteger(fd) && fd > 2, `fd ${fd}`);
        const proc = spawn(process.execPath, [FIXTURE], {
          env: { ...process.env, IMPL: child, FAMILY: family, NODE_OPTIONS: '' },
          stdio: ['ignore', 'pipe', 'inherit', fd],
        });
        const exit = exited(proc);
        s.close(); // our copy: the child's descriptor keeps the socket
        const ready = JSON.parse(await firstLine(proc.stdout));
        assert.deepStrictEqual(ready, { address: LOOP[family], family: family === 'udp4' ? 'IPv4' : 'IPv6', port, udpkit: child === 'udpkit' });
        const { msg, rinfo } = await echo(LOOP[family], port, family, 'ping');
        assert.strictEqual(msg, 'echo:ping');
        assert.strictEqual(rinfo.port, port);
        assert.deepStrictEqual(await exit, { code: 0, signal: null });
      });
    }
  }
}

test('systemd-style socket activation (examples/socket-activation-launch.js)', { timeout: 20000, skip: NO_HANDLE }, async () => {
  const proc = spawn(process.execPath, ['--no-deprecation', path.join(ROOT, 'examples', 'socket-activation-launch.js')], {
    env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exit = exited(proc);
  const info = JSON.parse(await firstLine(proc.stdout));
  assert.strictEqual(info.activated, true);
  assert.strictEqual(info.address, '127.0.0.1');
  const { msg } = await echo('127.0.0.1', info.port, 'udp4', 'quit');
  assert.strictEqual(msg, 'echo:quit');
  assert.deepStrictEqual(await exit, { code: 0, signal: null });
});

test('the service without activation binds by itself', { timeout: 20000 }, async () => {
  const proc = spawn(process.execPath, [path.join(ROOT, 'examples', 'socket-activation.js')], {
    env: { ...process.env, NODE_OPTIONS: '', LISTEN_PID: '1', LISTEN_FDS: '1' }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exit = exited(proc);
  const info = JSON.parse(await firstLine(proc.stdout));
  assert.strictEqual(info.activated, false, 'LISTEN_PID is not ours');
  assert.strictEqual((await echo('127.0.0.1', info.port, 'udp4', 'quit')).msg, 'echo:quit');
  assert.deepStrictEqual(await exit, { code: 0, signal: null });
});

test('child.send(msg, socket): node:dgram sockets travel, udpkit ones throw ERR_INVALID_HANDLE_TYPE', { timeout: 20000 }, async () => {
  const child = fork(path.join(__dirname, '..', 'fixtures', 'process', 'handle-receiver.js'), [], {
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const exit = exited(child);
  const ours = udpkit.createSocket('udp4');
  await new Promise((resolve) => ours.bind(0, '127.0.0.1', resolve));
  assert.throws(() => child.send('x', ours), { code: 'ERR_INVALID_HANDLE_TYPE', name: 'TypeError' });
  ours.close();
  const theirs = nodeDgram.createSocket('udp4');
  await new Promise((resolve) => theirs.bind(0, '127.0.0.1', resolve));
  const reply = new Promise((resolve) => child.once('message', resolve));
  child.send('y', theirs);
  assert.deepStrictEqual(await reply, { m: 'y', handle: 'Socket' });
  theirs.close();
  assert.strictEqual((await exit).code, 0);
});

test('socket._handle.fd is the descriptor while open and _handle is null after close, as in node', { timeout: 10000 }, async () => {
  assert.strictEqual('_handle' in udpkit.Socket.prototype, '_handle' in nodeDgram.Socket.prototype);
  if (NO_HANDLE) return;
  for (const impl of [nodeDgram, udpkit]) {
    const s = impl.createSocket('udp4');
    await new Promise((resolve) => s.bind(0, '127.0.0.1', resolve));
    const fd = legacyFd(s);
    assert.ok(Number.isInteger(fd) && fd > 2);
    await new Promise((resolve) => s.close(resolve));
    assert.strictEqual(legacyFd(s), undefined);
  }
});
