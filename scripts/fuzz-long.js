#!/usr/bin/env node
'use strict';
// Long fuzzing runs: the differential fuzzer (udpkit vs node:dgram) and the
// native-seam fuzzer, repeated with fresh seeds until the budget is spent.
//   node scripts/fuzz-long.js 10m        (minutes)
//   node scripts/fuzz-long.js 200000     (cases per suite)
// Prints the counts and every differential mismatch class; exits 1 on a new
// (not yet known) mismatch class or a native-seam failure/crash.
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const arg = process.argv[2] || '5m';
const byTime = /m$/.test(arg);
const budget = byTime ? parseFloat(arg) * 60000 : Number(arg);
const CHUNK = 10000;
const root = path.resolve(__dirname, '..');
const DIFF = path.join(root, 'test/fuzz/differential.test.js');
const SEAM = path.join(root, 'test/fuzz/native-seam.test.js');

const start = Date.now();
const totals = { differential: 0, nativeSeam: 0, nativeSeamCalls: 0, rounds: 0 };
const classes = new Map();
let failed = false;
let seed = Number(process.env.FUZZ_SEED || (Date.now() % 2 ** 31));
const more = () => (byTime ? Date.now() - start < budget : totals.differential < budget);
while (more()) {
  seed++;
  const d = spawnSync(process.execPath, [DIFF, '--long', String(CHUNK), String(seed)], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (d.signal) { console.error(`differential seed ${seed}: killed by ${d.signal}`); failed = true; break; }
  const lines = d.stdout.split('\n');
  const head = lines.find((l) => l.startsWith('{'));
  if (!head) { console.error(`differential seed ${seed}: no summary\n${d.stderr.slice(-3000)}`); failed = true; break; }
  totals.differential += JSON.parse(head).cases;
  for (let i = 0; i < lines.length; i++) {
    const m = /^MISMATCH (.*) \(x(\d+)\)$/.exec(lines[i]);
    if (!m) continue;
    const c = classes.get(m[1]) || { count: 0, example: lines.slice(i + 1, i + 4).join('\n') };
    c.count += Number(m[2]);
    classes.set(m[1], c);
  }
  const s = spawnSync(process.execPath, ['--expose-gc', SEAM, '--child', String(CHUNK), String(seed)], { encoding: 'utf8' });
  if (s.signal || s.status !== 0) { console.error(`native seam seed ${seed}: ${s.signal || 'exit ' + s.status}\n${s.stderr.slice(-3000)}`); failed = true; break; }
  const so = JSON.parse(s.stdout.trim().split('\n').pop());
  totals.nativeSeam += so.runs; totals.nativeSeamCalls += so.calls; totals.rounds++;
  process.stdout.write(`\r${Math.round((Date.now() - start) / 1000)}s: differential ${totals.differential} cases, native seam ${totals.nativeSeam} sequences (${totals.nativeSeamCalls} calls)`);
}
console.log(`\n${JSON.stringify({ ...totals, seconds: Math.round((Date.now() - start) / 1000), mismatchClasses: classes.size })}`);
let unknown = 0;
for (const [k, v] of classes) {
  if (!k.startsWith('KNOWN ')) unknown++;
  console.log(`${k.startsWith('KNOWN ') ? '' : 'NEW '}${k} (x${v.count})\n${v.example}`);
}
process.exit(failed || unknown ? 1 : 0);
