'use strict';
// Re-renders docs/benchmarks.md and docs/bench-ratios.svg (and the table on
// stdout) from a results file, without re-running the benchmark:
//   node bench/render.js [bench/results/latest.json]
const fs = require('node:fs');
const path = require('node:path');
const bench = require('./run.js');

const file = process.argv[2] || path.join(__dirname, 'results', 'latest.json');
const results = JSON.parse(fs.readFileSync(file, 'utf8'));
results.notes = [...new Set([...(results.notes || []).filter((n) => !n.startsWith('receive ')), ...bench.saturationNotes(results.rows)])];
fs.writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
const docs = path.join(__dirname, '..', 'docs');
fs.writeFileSync(path.join(docs, 'benchmarks.md'), bench.markdown(results));
fs.writeFileSync(path.join(docs, 'bench-ratios.svg'), bench.svg(results));
bench.updateReadme(results);
process.stdout.write(bench.textTable(results) + '\n');
