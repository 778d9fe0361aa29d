'use strict';
// Memory under socket churn, node:dgram against udpkit, each run in a fresh
// process with --expose-gc (test/fixtures/process/churn.js says what the
// modes do). Prints one line of JSON per run, and per 1,000 sockets.
//   node scripts/churn-memory.js [count=40000] [impls=node,udpkit] [modes=yield,promise] [node binary]
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const FIXTURE = path.join(__dirname, '..', 'test', 'fixtures', 'process', 'churn.js');
const count = Number(process.argv[2] || 40000);
const impls = (process.argv[3] || 'node,udpkit').split(',');
const modes = (process.argv[4] || 'yield,promise').split(',');
const nodeBin = process.argv[5] || process.execPath;

for (const mode of modes) {
  for (const impl of impls) {
    const r = spawnSync(nodeBin, ['--expose-gc', FIXTURE, impl, mode, String(count)], {
      stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8',
    });
    if (r.status !== 0) {
      process.stdout.write(`${impl} ${mode}: exited ${r.status}\n`);
      continue;
    }
    const out = JSON.parse(r.stdout);
    const per1000 = (g) => +(g.rssMiB / (count / 1000)).toFixed(3);
    out.settledRssPer1000MiB = per1000(out.settled);
    if (out.inLoop) out.inLoopRssPer1000MiB = per1000(out.inLoop);
    process.stdout.write(JSON.stringify(out) + '\n');
  }
}
