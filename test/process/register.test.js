'use strict';
// udpkit/register: `node -r` and `node --import` on CommonJS and ES module
// apps whose dependencies (in the fixture's own node_modules) load dgram in
// different ways; NODE_OPTIONS inherited by fork, cluster.fork and spawn; a
// real third-party package (hot-shots) running on udpkit via the preload.
const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const dgram = require('node:dgram');
const { runNode, resultOf, REGISTER_CJS, REGISTER_ESM } = require('../fixtures/process/run.js');

const DIR = path.join(__dirname, '..', 'fixtures', 'process', 'register');
const PRELOADS = { '-r': ['-r', REGISTER_CJS], '--import': ['--import', REGISTER_ESM] };

const CJS_ALL = { app: true, depCjs: true, depCjsLazy: true, depEsm: true, depEsmDynamic: true, sameModule: true, echoed: true };
const ESM_ALL = { ...CJS_ALL, namespace: true, createRequire: true };
const off = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, k === 'sameModule' || k === 'echoed' ? v : false]));

for (const [flag, args] of Object.entries(PRELOADS)) {
  for (const [app, expected] of [['app.cjs', CJS_ALL], ['app.mjs', ESM_ALL]]) {
    test(`node ${flag} udpkit/register ${app}: every dgram in the process is udpkit`, { timeout: 20000 }, async () => {
      const run = await runNode([...args, app], { cwd: DIR });
      assert.strictEqual(run.code, 0, run.stderr);
      assert.deepStrictEqual(resultOf(run), expected);
    });
  }
}

for (const app of ['app.cjs', 'app.mjs']) {
  test(`without the preload ${app} gets node:dgram (the check tells them apart)`, { timeout: 20000 }, async () => {
    const run = await runNode([app], { cwd: DIR });
    assert.strictEqual(run.code, 0, run.stderr);
    assert.deepStrictEqual(resultOf(run), off(app === 'app.cjs' ? CJS_ALL : ESM_ALL));
  });
}

for (const [label, nodeOptions] of [['--import', `--import ${REGISTER_ESM}`], ['-r', `-r ${REGISTER_CJS}`]]) {
  test(`NODE_OPTIONS='${label} udpkit/register' reaches fork, cluster.fork and a spawned node`, { timeout: 30000 }, async () => {
    const run = await runNode(['inherit.js'], { cwd: DIR, env: { NODE_OPTIONS: nodeOptions } });
    assert.strictEqual(run.code, 0, run.stderr);
    assert.deepStrictEqual(resultOf(run), { self: true, worker: true, forked: true, spawned: true, nodeOptions });
  });
}

test('hot-shots (uses require("dgram") internally) runs on udpkit through the preload', { timeout: 20000 }, async () => {
  const receiver = dgram.createSocket('udp4');
  await new Promise((resolve) => receiver.bind(0, '127.0.0.1', resolve));
  const got = new Promise((resolve) => {
    receiver.on('message', (msg) => { if (msg.toString().startsWith('udpkit.preload')) resolve(msg.toString()); });
  });
  try {
    const run = await runNode([...PRELOADS['-r'], 'statsd-app.js'], { cwd: DIR, env: { STATSD_PORT: String(receiver.address().port) } });
    assert.strictEqual(run.code, 0, run.stderr);
    const result = resultOf(run);
    assert.strictEqual(result.udpkit, true);
    assert.ok(result.sends >= 1, 'hot-shots sent through udpkit\'s Socket.prototype.send');
    assert.strictEqual(await got, 'udpkit.preload:3|c|#via:hot-shots');
  } finally {
    receiver.close();
  }
});
