'use strict';
// ref()/unref(): whether a bound socket keeps a process alive. Runs child
// processes (with a safety timeout that fails the test).
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const dgram = require('./helpers/impl.js');
const { implSpecifier } = require('./helpers/impls.js');
const { FAMILIES, LOOPBACK, boundSocket, closeAll, withTimeout } = require('./helpers/util.js');

function runChild(script, { stdinClose = false } = {}) {
  return withTimeout(new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', script], {
      env: { ...process.env, IMPL: implSpecifier() },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
      // the parent releases a ref'd child by sending its port a datagram
      if (stdinClose && out.includes('PORT ')) stdinClose(Number(/PORT (\d+)/.exec(out)[1]), child);
    });
    child.stderr.on('data', (d) => { err += d; });
    child.on('exit', (code, signal) => resolve({ code, signal, out, err }));
    child.timer = setTimeout(() => child.kill('SIGKILL'), 8000);
    child.on('exit', () => clearTimeout(child.timer));
  }), 'child process', 10000);
}

for (const type of FAMILIES) {
  const loop = LOOPBACK[type];

  test(`${type}: a bound, unref'd socket lets the process exit on its own`, async () => {
    const r = await runChild(`
      const d = require(process.env.IMPL);
      const s = d.createSocket('${type}');
      s.bind(0, '${loop}', () => { const ret = s.unref(); console.log('BOUND', ret === s); });
    `);
    assert.equal(r.signal, null, `child was killed (did not exit on its own); stderr: ${r.err}`);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.trim(), 'BOUND true');
  });

  test(`${type}: unref before bind also lets the process exit`, async () => {
    const r = await runChild(`
      const d = require(process.env.IMPL);
      const s = d.createSocket('${type}');
      s.unref();
      s.bind(0, '${loop}', () => console.log('BOUND'));
    `);
    assert.equal(r.signal, null, r.err);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.trim(), 'BOUND');
  });

  test(`${type}: a ref'd socket keeps the process alive until it is closed`, async () => {
    let sentAt = null;
    const releaser = await boundSocket(dgram, type);
    const r = await runChild(`
      const d = require(process.env.IMPL);
      const s = d.createSocket('${type}');
      s.on('message', (m) => { console.log('GOT', String(m)); s.close(); });
      s.bind(0, '${loop}', () => { s.unref(); const ret = s.ref(); console.log('PORT ' + s.address().port, ret === s); });
    `, {
      stdinClose: (port) => {
        if (sentAt !== null) return;
        sentAt = Date.now();
        // The child is still alive to receive this only if ref() kept it running.
        releaser.send('release', port, loop);
      },
    });
    assert.equal(r.signal, null, `child was killed; stderr: ${r.err}`);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^PORT \d+ true\nGOT release\n$/);
    await closeAll([releaser]);
  });
}
