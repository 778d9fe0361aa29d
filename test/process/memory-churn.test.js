'use strict';
// Memory under socket churn (issue 9, item 8): what a socket holds must go
// when it closes, not when its object is collected. Each run is a fresh
// process with --expose-gc (test/fixtures/process/churn.js), udpkit beside
// node:dgram on the same machine at the same time; udpkit may grow at most a
// few MiB more than node does. Before the fix, udpkit grew 25-35 MiB more
// over 5,000 sockets in both modes; after it, about as much as node (often
// less). The bound sits in between, far from both.
const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const { runNode } = require('../fixtures/process/run.js');

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'process', 'churn.js');
const COUNT = 5000;
const SLACK_MIB = 8;

async function churn(impl, mode) {
  const run = await runNode(['--expose-gc', FIXTURE, impl, mode, String(COUNT)], { timeout: 120000 });
  assert.strictEqual(run.code, 0, `${impl} ${mode} exited ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

test(`${COUNT} sockets opened and closed without the event loop ever turning: RSS after GC within ${SLACK_MIB} MiB of node:dgram's`, { timeout: 300000 }, async () => {
  // Only promises are awaited, so finalizers (which run from the loop) never do.
  const node = await churn('node', 'promise');
  const udpkit = await churn('udpkit', 'promise');
  assert.ok(udpkit.inLoop.rssMiB <= node.inLoop.rssMiB + SLACK_MIB,
    `udpkit grew ${udpkit.inLoop.rssMiB} MiB, node:dgram ${node.inLoop.rssMiB} MiB: ${JSON.stringify({ node, udpkit })}`);
});

test(`${COUNT} sockets opened and closed, yielding every 100: settled RSS within ${SLACK_MIB} MiB of node:dgram's`, { timeout: 300000 }, async () => {
  const node = await churn('node', 'yield');
  const udpkit = await churn('udpkit', 'yield');
  assert.ok(udpkit.settled.rssMiB <= node.settled.rssMiB + SLACK_MIB,
    `udpkit grew ${udpkit.settled.rssMiB} MiB, node:dgram ${node.settled.rssMiB} MiB: ${JSON.stringify({ node, udpkit })}`);
});
