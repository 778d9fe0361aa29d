'use strict';
// The suite must pass wherever the repository is cloned and whoever runs it.
// A checkout under a 0700 directory (as many home directories are) once broke
// the privileged-port fault test, which ran its child as `nobody`. This runs
// that test again from a copy of the checkout that only its owner can enter.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..', '..');

test('the privileged-port fault test passes from a checkout inside a 0700 directory', { timeout: 60000 }, (t) => {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    t.skip('not root: the test it runs skips itself');
    return;
  }
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'udpkit-private-'));
  try {
    fs.chmodSync(home, 0o700);
    const checkout = path.join(home, 'udpkit');
    fs.mkdirSync(checkout);
    for (const entry of ['package.json', 'dist', 'build', 'prebuilds', 'test']) {
      const from = path.join(ROOT, entry);
      if (fs.existsSync(from)) fs.cpSync(from, path.join(checkout, entry), { recursive: true });
    }
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(checkout, 'node_modules'));
    // A child `node --test` must not think it runs under this runner.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const r = spawnSync(process.execPath, ['--test', '--test-reporter=tap', '--test-name-pattern=privileged port',
      path.join('test', 'reliability', 'faults.test.js')], { cwd: checkout, env, encoding: 'utf8', timeout: 50000 });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^ok \d+ - binding a privileged port[^\n#]*$/m, 'it ran (not skipped) and passed');
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});
