'use strict';
// Run with the package's prebuilds/ hidden and nothing built: require works,
// the first socket throws one line that names the platform, the arch and the fix.
const assert = require('node:assert/strict');
const dgram = require('udpkit');
assert.throws(() => dgram.createSocket('udp4'), (err) => {
  assert.equal(err.code, 'ERR_UDPKIT_NO_BINARY');
  assert.ok(!err.message.includes('\n'), 'one line');
  assert.ok(err.message.includes(`${process.platform}-${process.arch}`), 'names platform and arch');
  assert.ok(err.message.includes('npm rebuild udpkit'), 'names the fix');
  console.log(`no binary: ${err.message}`);
  return true;
});
