'use strict';
// Re-renders docs/benchmarks.md, docs/bench-ratios.svg and the README's
// table (and the table on stdout) from a results file, without re-running
// the benchmark:
//   node bench/render.js [bench/results/latest.json]
const fs = require('node:fs');
const path = require('node:path');
const bench = require('./run.js');
const render = require('./render-lib.js');

const file = process.argv[2] || path.join(__dirname, 'results', 'latest.json');
const results = JSON.parse(fs.readFileSync(file, 'utf8'));
results.notes = render.mergeNotes(results.notes, results.settings.reps);
fs.writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
const docs = path.join(__dirname, '..', 'docs');
fs.writeFileSync(path.join(docs, 'benchmarks.md'), render.markdown(results));
fs.writeFileSync(path.join(docs, 'bench-ratios.svg'), render.svg(results));
bench.updateReadme(results);
process.stdout.write(render.textTable(results) + '\n');
