'use strict';
// The benchmark's renderers (bench/render-lib.js): the terminal table fits
// 100 columns however long the titles and values, bars are proportional to
// the ratio, and the README table carries the udpkit rows with Bun's ratio.
const test = require('node:test');
const assert = require('node:assert/strict');
const render = require('../bench/render-lib.js');

function row(over) {
  return {
    scenario: 'recv-64',
    section: 'Receive from ordinary senders (4 sender processes × 4 ports, sendmmsg of 8, no GSO) and a long tail',
    metric: 'recv-cpu-64',
    title: 'receiver CPU per 64 B datagram at 100k/s, with a title long enough to need cutting at the edge',
    unit: 'ns',
    better: 'lower',
    variant: 'node:dgram',
    variantId: 'node',
    impl: 'node',
    baseline: true,
    vs: 'node:dgram',
    samples: [7000, 7100, 6900],
    median: 7000,
    min: 6900,
    max: 7100,
    ratio: 1,
    delta: 0,
    target: '',
    targetSpec: null,
    pass: null,
    aheadOfBun: null,
    ...over,
  };
}

function results(rows) {
  return {
    mode: 'full',
    settings: { reps: 3 },
    machine: { node: 'v20.0.0', bun: '1.4.5', cpu: 'CPU', cores: 2, date: '2026-12-02T00:00:00Z', loadAverageAtStart: 0.1 },
    durationS: 300,
    notes: ['a note long enough to be wrapped over several lines of the terminal, '.repeat(4)],
    rows,
    raw: [],
  };
}

const rows = [
  row({}),
  row({ variant: "udpkit 'message' with a variant label far too long", variantId: 'kit-msg', impl: 'udpkit', baseline: false, median: 1750, min: 1700, max: 123456789, ratio: 0.25, target: '≤ 0.40', pass: true, aheadOfBun: true }),
  row({ variant: 'Bun node:dgram', variantId: 'bun', impl: 'bun', baseline: false, median: 3500, ratio: 0.5 }),
  row({ metric: 'scale-cap', title: 'datagrams per receiver CPU-second', unit: 'datagrams/s', better: 'higher', variant: 'udpkit ×2', variantId: 'kit-c2', impl: 'udpkit', baseline: false, median: 1.2e6, ratio: 7.5, vs: 'node:dgram cluster ×2' }),
  row({ metric: 'lat-p99', title: 'one-way latency p99', unit: 'µs', variant: 'udpkit', variantId: 'kit-msg', impl: 'udpkit', baseline: false, median: NaN, min: NaN, max: NaN, samples: [NaN], ratio: NaN }),
];

test('the terminal table fits 100 columns', () => {
  const text = render.textTable(results(rows));
  for (const line of text.split('\n')) assert.ok([...line].length <= 100, `too wide (${[...line].length}): ${line}`);
  assert.match(text, /≤0\.40 ✓ >Bun/);
  assert.match(text, /n\/a/);
});

test('bars: ten cells per 1.00, eighths for the rest, an arrow past 2.00', () => {
  assert.equal(render.bar(1), '█'.repeat(10));
  assert.equal(render.bar(0.25), '██▌');
  assert.equal(render.bar(7.5), '█'.repeat(19) + '▶');
  assert.equal(render.bar(NaN), '');
});

test("the README table lists udpkit rows with Bun's ratio beside, and the baseline when it is not node:dgram alone", () => {
  const table = render.readmeTable(results(rows));
  assert.match(table, /\| receiver CPU per 64 B datagram .* \| udpkit 'message' with a variant label far too long \| 0\.25 \| 0\.50 \| ≤ 0\.40 \| pass \|/);
  assert.match(table, /7\.50 \(vs node:dgram cluster ×2\)/);
  assert.doesNotMatch(table, /\| Bun node:dgram \|/);
});
