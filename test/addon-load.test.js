'use strict';
// Where the addon comes from (src/datapath/addon.ts). Without any binary —
// install script blocked on a platform without a prebuilt one — require()
// must still work and the first socket must fail with one readable line, not
// a module-not-found for build/Release/udpkit.node (issue 10).

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const DIST = path.resolve(__dirname, '..', 'dist');

function run(code, env) {
  return spawnSync(process.execPath, ['-e', code], { env: { ...process.env, ...env }, encoding: 'utf8' });
}

test('no binary anywhere: require works, the first socket throws one line naming platform, arch and the fix', () => {
  // UDPKIT_PREBUILD points node-gyp-build at an empty directory: no build/, no prebuilds/.
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'udpkit-nobinary-'));
  try {
    const r = run(
      `const dgram = require(${JSON.stringify(path.join(DIST, 'index.js'))});
       try { dgram.createSocket('udp4'); console.log('no error'); }
       catch (err) { console.log(JSON.stringify({ code: err.code, message: err.message, cause: err.cause instanceof Error })); }`,
      { UDPKIT_PREBUILD: empty },
    );
    assert.equal(r.status, 0, r.stderr);
    const err = JSON.parse(r.stdout);
    assert.equal(err.code, 'ERR_UDPKIT_NO_BINARY');
    assert.ok(!err.message.includes('\n'), `one line: ${err.message}`);
    assert.match(err.message, new RegExp(`^udpkit: no native binary for ${process.platform}-${process.arch}\\b`));
    assert.match(err.message, /npm rebuild udpkit/);
    assert.equal(err.cause, true, 'the loader\'s own error stays reachable as cause');
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
  }
});

test('a binary that does not load: one line with the reason, not a dlopen stack', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'udpkit-badbinary-'));
  try {
    // A prebuilt binary for this very platform (found with or without PREBUILDS_ONLY) that is no binary at all.
    const file = path.join(dir, 'prebuilds', `${process.platform}-${process.arch}`, 'node.napi.node');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, 'not an ELF file');
    const r = run(
      `const dgram = require(${JSON.stringify(path.join(DIST, 'index.js'))});
       try { dgram.createSocket('udp4'); console.log('no error'); }
       catch (err) { console.log(JSON.stringify({ code: err.code, message: err.message })); }`,
      { UDPKIT_PREBUILD: dir },
    );
    assert.equal(r.status, 0, r.stderr);
    const err = JSON.parse(r.stdout);
    assert.equal(err.code, 'ERR_UDPKIT_NO_BINARY');
    assert.ok(!err.message.includes('\n'), `one line: ${err.message}`);
    assert.ok(err.message.includes(file), err.message);
    assert.match(err.message, /does not load on/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
