'use strict';
// Renders benchmark results (bench/run.js) for a terminal of 100 columns,
// for docs/benchmarks.md, for the README's table and as an SVG chart. Pure
// functions of the results object, so bench/render.js can redo them from a
// saved JSON file.

const WIDTH = 100;
const BAR_CELLS_PER_UNIT = 10; // 1.00 = ten cells
const BAR_MAX = 20;

function fmt(x, unit) {
  if (!Number.isFinite(x)) return 'n/a';
  if (unit === 'datagrams/s') return x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : `${(x / 1e3).toFixed(0)}k`;
  if (unit === 'MiB') return x.toFixed(1);
  if (unit === 'ns') return x.toFixed(0);
  if (unit === 'µs') return x >= 100 ? x.toFixed(0) : x.toFixed(1);
  if (unit === 'ms') return x.toFixed(2);
  return String(x);
}

const unitText = (u) => (u === 'datagrams/s' ? '/s' : ` ${u}`);
/** Whether a row's baseline is another than its figure's first row (node:dgram), so it must be named. */
const namesBaseline = (r) => !r.baseline && (r.vsFirst === false || (r.vsFirst === undefined && /×/.test(r.vs)));

/** A value with its unit, or n/a alone. */
const withUnit = (x, u) => (Number.isFinite(x) ? fmt(x, u) + unitText(u) : 'n/a');

function ratioText(r) {
  if (!Number.isFinite(r.ratio)) return 'n/a';
  if (r.baseline) return '1.00';
  return r.ratio >= 10 ? r.ratio.toFixed(1) : r.ratio.toFixed(2);
}

/** A ratio as a bar: ten cells per 1.00, eighths for the rest, an arrow past BAR_MAX. */
function bar(ratio) {
  if (!Number.isFinite(ratio) || ratio <= 0) return '';
  const eighths = Math.round(ratio * BAR_CELLS_PER_UNIT * 8);
  if (eighths > BAR_MAX * 8) return '█'.repeat(BAR_MAX - 1) + '▶';
  const parts = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
  return '█'.repeat(Math.floor(eighths / 8)) + parts[eighths % 8] || '▏';
}

/** The target with ✓ (met) or ✗ (missed) after it. */
function targetMark(r) {
  return r.target ? `${r.target.replace(/ /g, '')} ${r.pass ? '✓' : '✗'}` : '';
}

const bunMark = (r) => (r.aheadOfBun === null ? '' : r.aheadOfBun ? '>Bun' : '<Bun');

const len = (s) => [...s].length;
const pad = (s, n) => s + ' '.repeat(Math.max(0, n - len(s)));
const lpad = (s, n) => ' '.repeat(Math.max(0, n - len(s))) + s;
const cut = (s, n) => (len(s) <= n ? s : [...s].slice(0, n - 1).join('') + '…');

function wrap(text, width, indent = '') {
  const words = text.split(/\s+/);
  const lines = [];
  let line = '';
  for (const w of words) {
    if (line && len(line) + 1 + len(w) > width) {
      lines.push(line);
      line = indent + w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines;
}

/** Rows grouped: section -> metric -> rows, in run order. */
function groups(rows) {
  const sections = [];
  for (const r of rows) {
    let s = sections[sections.length - 1];
    if (!s || s.title !== r.section) sections.push((s = { title: r.section, metrics: [] }));
    let m = s.metrics[s.metrics.length - 1];
    if (!m || m.id !== r.metric) s.metrics.push((m = { id: r.metric, title: r.title, unit: r.unit, better: r.better, rows: [] }));
    m.rows.push(r);
  }
  return sections;
}

function textTable(results) {
  const out = [];
  const rows = results.rows;
  const labelW = Math.min(26, Math.max(...rows.map((r) => len(r.variant))));
  const range = (r) => (r.samples.length > 1 && Number.isFinite(r.min) ? `${fmt(r.min, r.unit)}–${fmt(r.max, r.unit)}` : '');
  out.push(
    ...wrap(
      `udpkit bench, ${results.mode} run (${results.durationS.toFixed(0)} s, ${results.settings.reps} repetition${results.settings.reps > 1 ? 's' : ''}; ` +
        `Node ${results.machine.node}${results.machine.bun ? `, Bun ${results.machine.bun}` : ''}). Medians, min–max, ratio to the ` +
        `baseline (node:dgram, or the row named) with a bar: ten cells = 1.00.`,
      WIDTH,
    ),
  );
  for (const s of groups(rows)) {
    out.push('');
    out.push(...wrap(`== ${s.title}`, WIDTH, '   '));
    for (const m of s.metrics) {
      out.push(cut(`${m.title} (${m.unit}, ${m.better} is better)`, WIDTH));
      const valW = Math.min(11, Math.max(...m.rows.map((r) => len(withUnit(r.median, r.unit)))));
      const rangeW = Math.min(15, Math.max(...m.rows.map((r) => len(range(r)))));
      for (const r of m.rows) {
        const cellsText = [
          '  ' + pad(cut(r.variant, labelW), labelW),
          lpad(withUnit(r.median, r.unit), valW),
          lpad(range(r), rangeW),
          lpad(ratioText(r), 5),
          pad(bar(r.ratio), BAR_MAX),
          pad(targetMark(r), 7),
          bunMark(r),
        ].join(' ');
        out.push(cut(cellsText.trimEnd(), WIDTH));
      }
    }
  }
  const judged = rows.filter((r) => r.pass !== null);
  const bunJudged = rows.filter((r) => r.aheadOfBun !== null);
  out.push('');
  out.push(
    ...wrap(
      `targets met: ${judged.filter((r) => r.pass).length}/${judged.length}` +
        (bunJudged.length ? `; udpkit rows ahead of Bun: ${bunJudged.filter((r) => r.aheadOfBun).length}/${bunJudged.length}` : '') +
        '. ✓/✗: the target beside it met or missed; >Bun/<Bun: better/worse than Bun node:dgram in the same figure. ' +
        'Rows of the More cores section compare with node:dgram running as many processes.',
      WIDTH,
    ),
  );
  results.notes.forEach((n, i) => {
    out.push(...wrap(`[${i + 1}] ${n}`, WIDTH, '    '));
  });
  return out.join('\n');
}

/**
 * One note per failure, however many repetitions it happened in:
 * "<what>, rep N: <why>" notes of the same what and why become one
 * "<what>: <why> (in N of M repetitions)".
 */
function mergeNotes(notes, reps) {
  const out = [];
  const seen = new Map();
  for (const n of notes) {
    const m = /^(.*), rep \d+: (.*)$/.exec(n);
    if (!m) {
      out.push(n);
      continue;
    }
    const key = `${m[1]}: ${m[2]}`;
    if (seen.has(key)) seen.get(key).count++;
    else {
      const entry = { key, count: 1 };
      seen.set(key, entry);
      out.push(entry);
    }
  }
  return out.map((e) => (typeof e === 'string' ? e : `${e.key} (in ${e.count} of ${reps} repetition${reps > 1 ? 's' : ''})`));
}

/** Notes the figures themselves call for. */
function derivedNotes(results) {
  const notes = [];
  const s = results.settings;
  const byId = (metric, variantId) => results.rows.find((r) => r.metric === metric && r.variantId === variantId);
  const rateRows = results.raw.filter((x) => x.scenario === 'recv-64' && Number.isFinite(x.rate));
  if (rateRows.length) {
    const got = rateRows.reduce((a, x) => a + x.rate, 0) / rateRows.length;
    if (got < 0.9 * s.offeredRate) {
      notes.push(
        `The ${s.offeredRate / 1000}k/s rows received ${Math.round(got / 1000)}k/s on average: the generators could not keep that pace ` +
          'on this machine. CPU per datagram is still comparable (every variant met the same load).',
      );
    }
  }
  if (results.machine.cores <= 2) {
    notes.push(
      `More cores: this machine has ${results.machine.cores} cores, shared by the sender processes and the receivers, so ` +
        'received/s measures the machine more than the receivers; datagrams per receiver CPU-second is the comparable figure.',
    );
  }
  const poll = byId('pp-loop-server', 'kit-poll');
  if (poll) {
    notes.push(
      'Reply polling: after a receive that led to a send, udpkit polls the socket up to 100 µs for the answer (UDPKIT_SPIN_US), ' +
        'capped at 10% of a core per socket. The event-loop delay rows show what that costs timers in the same process; the CPU ' +
        'rows what it costs each side.',
    );
  }
  if (byId('recv-cpu-64', 'kit-nocoal')) {
    notes.push(
      'Receive coalescing: under load udpkit drains a receiving socket from a timer every UDPKIT_RX_COALESCE_US (default 500 µs) ' +
        'instead of waking for every few datagrams, so one wake-up serves many datagrams; it switches itself off at low rates, at ' +
        "saturation and for sockets that send. 'coalescing off' is the same receiver with UDPKIT_RX_COALESCE_US=0; the one-way " +
        'latency rows show the price.',
    );
  }
  const la = results.machine.loadAverageAtStart;
  if (Number.isFinite(la) && la > results.machine.cores * 0.5) {
    notes.push(`Load average ${la} when the run started, on ${results.machine.cores} cores: other work shared the machine; figures are noisy.`);
  }
  return notes;
}

/**
 * Where the time goes: perf profiles taken by hand (not by this command) on
 * the development machine, for the figures whose targets are hard to reach.
 * Redo them when the datapath changes: `perf record -g -p PID` on a receiver
 * or sender while `udpkit bench --only ...` runs, then `perf report --no-children`.
 */
const PROFILES = [
  '## Where the time goes (perf, 2026-12-02, the development VM)',
  '',
  'Taken by hand with `perf record -g` on a receiver or sender under the same load as the rows above; not redone by `udpkit bench`.',
  '',
  '- **Receiver at 100k/s of 64 B from ordinary senders**, before receive coalescing: about 45% of the receiver\'s CPU went to going to sleep and waking up (`schedule` from `epoll_pwait`, `finish_task_switch`; a wake-up costs 15–20 µs of CPU on this VM, about 6.7k of them a second), about 25% to `recvmmsg` and copying, `__sock_recv_cmsgs` about 1% (the `SO_RXQ_OVFL` drop counter, now read on demand instead), JavaScript and V8 about 20%. With coalescing (500 µs ticks): wake-ups down to about 2k a second and 25% of a smaller total; the rest is `recvmmsg` (`_copy_to_iter`, `udp_recvmsg`), malloc and typed-array creation.',
  '- **Sender, fan-out to 64 peers** (the send CPU row): about 85% of the sender\'s CPU is in the kernel: `udp_sendmsg`, route and socket look-ups per destination, skb allocation, and the loopback delivery into each receiver\'s queue (`__udp_enqueue_schedule_skb`, `net_rx_action`), which on loopback runs in the sender\'s own context and is counted there. udpkit\'s userspace share is 0.3–0.5 µs of about 2.5–3 µs a datagram. No datagram of a fan-out can share a GSO send with the next, so the 0.25 target lies below the kernel\'s own cost per `sendmmsg` message on this machine; with real NICs the delivery half moves to the receiving host.',
  '- **Ping-pong** on a busy shared machine: the CPUs never idle, wake-ups are quick and reply polling has nothing to win (polling on and off within noise of each other and of node:dgram). On an idle machine waking a sleeping process dominates (the quiet full run of 2026-11-27 on this VM: node:dgram 183 µs p50, udpkit with polling 31 µs); the event-loop delay and CPU rows show what polling costs.',
  '',
];

function markdown(results) {
  const m = results.machine;
  const s = results.settings;
  const esc = (c) => String(c).replace(/\|/g, '\\|');
  const lines = [
    '# Benchmarks',
    '',
    'udpkit against node:dgram (and Bun\'s node:dgram when a Bun binary is found), side by side in one run of `udpkit bench`',
    '(also `npm run bench`; `--quick` for a short run). This file, `bench/results/latest.json` and `docs/bench-ratios.svg`',
    'are written by that command; `node bench/render.js` redoes them from the JSON.',
    '',
    `Run: ${results.mode}, ${s.reps} repetitions, ${s.warmupMs} ms warm-up + ${s.windowMs} ms window per measurement, ${results.durationS.toFixed(0)} s in all.`,
    '',
    '| machine | |',
    '| --- | --- |',
    `| CPU | ${m.cpu} |`,
    `| cores | ${m.cores} |`,
    `| memory | ${m.memoryGiB} GiB |`,
    `| OS | ${m.platform} |`,
    `| Node.js | ${m.node} |`,
    `| Bun | ${m.bun || 'not found'} |`,
    `| load average at start | ${m.loadAverageAtStart ?? 'n/a'} |`,
    `| date | ${m.date} |`,
    `| UDPKIT_ environment | ${Object.entries(s.env || {}).map(([k, v]) => `${k}=${v}`).join(' ') || 'none (defaults)'} |`,
    '',
    'Medians over the repetitions, min–max beside them; ratio = the variant / its baseline in the same run (node:dgram unless',
    'the row says otherwise; for RSS also the difference). Lower is better for CPU, latency, delay and RSS; higher for datagrams/s.',
    '"vs Bun": whether the udpkit row is better than Bun\'s node:dgram in the same figure.',
    '',
    '![ratios](bench-ratios.svg)',
    '',
  ];
  for (const sec of groups(results.rows)) {
    lines.push(`## ${sec.title}`, '');
    lines.push('| figure | variant | median | min–max | ratio | target | | vs Bun |', '| --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const mt of sec.metrics) {
      for (const r of mt.rows) {
        const vs = namesBaseline(r) ? ` (vs ${r.vs})` : '';
        lines.push(
          `| ${esc(mt.title)} | ${esc(r.variant)} | ${esc(withUnit(r.median, r.unit))} | ${r.samples.length > 1 && Number.isFinite(r.min) ? `${fmt(r.min, r.unit)}–${fmt(r.max, r.unit)}` : ''} | ` +
            `${ratioText(r)}${r.unit === 'MiB' && !r.baseline && Number.isFinite(r.delta) ? ` (${r.delta >= 0 ? '+' : ''}${r.delta.toFixed(1)} MiB)` : ''}${esc(vs)} | ` +
            `${esc(r.target)} | ${r.pass === null ? '' : r.pass ? '✅ pass' : '❌ miss'} | ${r.aheadOfBun === null ? '' : r.aheadOfBun ? 'ahead' : 'behind'} |`,
        );
      }
    }
    lines.push('');
  }
  lines.push(
    '## How it is measured',
    '',
    '- Every measurement runs in child processes: the socket under test in one, its peers in others; the parent only coordinates. Each repetition runs every variant once, alternating their order.',
    `- **Ordinary senders** (the rows that lead): ${s.ordinary.procs} processes of \`native/tools/loadgen.c\` (compiled at bench time with the machine's \`cc\`; without one, Node processes sending udpkit batches with \`UDPKIT_OFFLOAD=0\`), each rotating over ${s.ordinary.sockets} sockets (so ${s.ordinary.procs * s.ordinary.sockets} source ports), one plain \`sendmmsg\` of ${s.ordinary.batch} datagrams per socket in turn, no segmentation offload, paced on an absolute clock to ${s.offeredRate / 1000}k datagrams/s in all, or flat out. Generator used: ${s.generator}.`,
    `- **Receiver CPU per datagram**: the receiver's process.cpuUsage() (user + system) over the window divided by the datagrams it received through its listener. Receivers ask for SO_RCVBUF = ${s.recvBufferSize} bytes. 'message' rows listen to 'message'; the 'messages' row to udpkit's batches only.`,
    `- **Mixed sizes**: payloads of ${s.mixedSizes.join(', ')} bytes in turn.`,
    '- **One-way latency**: every payload carries its CLOCK_MONOTONIC send time; the receiver times one datagram in 64 on arrival in JavaScript (hrtime uses the same clock). It includes the sender\'s batching and any receive coalescing.',
    "- **udpkit's own GSO sender** rows use udpkit's `sendMany()` with offload on: runs of one size to one peer leave as one UDP GSO send and udpkit's receiver keeps them coalesced. A server facing many ordinary clients does not see that traffic, so these rows are labelled and do not lead.",
    `- **Send**: the sender under test sends flat out in bursts of 64 (send(): 64 calls, a callback on the last; sendMany(): one call of 64) to udpkit sinks in another process that only count: ${s.fanout} peers in turn (fan-out: no two consecutive datagrams share a destination, so nothing can be coalesced), or one peer with mixed sizes, or one peer with 64 B (GSO).`,
    `- **Ping-pong**: ${s.pingCount} sequential 64 B round trips after ${s.pingWarmup} warm-up ones; client and echo server in separate processes, same impl. CPU per round trip for each side; the event-loop delay of each side from perf_hooks.monitorEventLoopDelay (1 ms resolution), i.e. how late a timer in that process fires. 'reply polling off' is UDPKIT_SPIN_US=0.`,
    "- **More cores**: receivers on one port, flat-out ordinary senders: one process; two cluster workers sharing the primary's socket (node:dgram's model, and udpkit's); two processes each with a reusePort socket of its own (the kernel spreads flows by source port). Ratios are against node:dgram with the same number of processes: its cluster, or its own reusePort where Node has it (22.12 and later).",
    '- **RSS**: the receiver samples its resident set size every 50 ms during the flood window; the row is the maximum.',
    '',
  );
  lines.push(...PROFILES);
  if (results.notes.length) {
    lines.push('## Notes', '');
    results.notes.forEach((n, i) => lines.push(`${i + 1}. ${n}`));
    lines.push('');
  }
  return lines.join('\n');
}

function svg(results) {
  const rows = results.rows.filter((r) => !r.baseline);
  const labelOf = (r) => `${r.title} — ${r.variant}`;
  const left = Math.max(200, Math.ceil(Math.max(...rows.map((r) => labelOf(r).length)) * 6.4) + 16);
  const W = left + 430;
  const rowH = 22;
  const top = 40;
  const H = top + rows.length * rowH + 40;
  const maxRatio = Math.min(4, Math.max(2, ...rows.map((r) => (Number.isFinite(r.ratio) ? r.ratio : 0)))) * 1.05;
  const plotW = W - left - 80;
  const x = (v) => left + (Math.min(v, maxRatio) / maxRatio) * plotW;
  const escXml = (t) => String(t).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">ratio to node:dgram (${escXml(results.machine.node)}${results.machine.bun ? `, Bun ${escXml(results.machine.bun)}` : ''}, ${results.mode} run, ${results.machine.date.slice(0, 10)})</text>`,
  ];
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    const color = r.impl === 'bun' ? '#b08fd0' : r.pass === null ? '#8899aa' : r.pass ? '#3a9a4a' : '#d0503a';
    const v = Number.isFinite(r.ratio) ? r.ratio : 0;
    parts.push(`<text x="${left - 8}" y="${y + 15}" text-anchor="end">${escXml(labelOf(r))}</text>`);
    parts.push(`<rect x="${left}" y="${y + 4}" width="${Math.max(1, x(v) - left).toFixed(1)}" height="${rowH - 8}" fill="${color}"/>`);
    parts.push(`<text x="${(x(v) + 4).toFixed(1)}" y="${y + 15}">${v < 1 ? v.toFixed(3) : v.toFixed(2)}${r.better === 'lower' ? ' ↓' : ' ↑'}${r.target ? ` (target ${escXml(r.target)})` : ''}</text>`);
  });
  const one = x(1).toFixed(1);
  parts.push(`<line x1="${one}" y1="${top - 4}" x2="${one}" y2="${top + rows.length * rowH + 4}" stroke="#000" stroke-dasharray="4 3"/>`);
  parts.push(`<text x="${one}" y="${top + rows.length * rowH + 18}" text-anchor="middle">1.0 = baseline</text>`);
  parts.push(`<text x="10" y="${H - 8}" fill="#555">↓ lower is better, ↑ higher is better; green: target met, red: missed, grey: no target, purple: Bun</text>`);
  parts.push('</svg>', '');
  return parts.join('\n');
}

/** The README's table: the rows with targets, latency, loop delay and scaling, with Bun's ratio beside. */
const README_METRICS = new Set(['recv-cpu-64', 'lat-p50', 'lat-p99', 'recv-cpu-mixed', 'recv-cap-64', 'recv-rss-64', 'send-cpu-fanout', 'send-cpu-mixed', 'pp-p50', 'pp-loop-server', 'scale-cap', 'recv-cpu-gso', 'send-cpu-gso']);

function readmeTable(results) {
  const m = results.machine;
  const lines = [
    `Full run of ${m.date.slice(0, 10)} on ${m.cpu}, ${m.cores} cores, Node.js ${m.node}${m.bun ? `, Bun ${m.bun}` : ''} (load average ${m.loadAverageAtStart ?? 'n/a'} at start).`,
    '',
    '| figure | udpkit variant | ratio to node:dgram | Bun\'s ratio | target | |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of results.rows) {
    if (!README_METRICS.has(r.metric) || r.baseline || r.impl !== 'udpkit') continue;
    const bunRow = results.rows.find((b) => b.metric === r.metric && b.impl === 'bun');
    const ratio = r.unit === 'MiB' ? `${ratioText(r)} (${r.delta >= 0 ? '+' : ''}${r.delta.toFixed(1)} MiB)` : ratioText(r);
    const vs = namesBaseline(r) ? ` (vs ${r.vs})` : '';
    lines.push(`| ${r.title} | ${r.variant} | ${ratio}${vs} | ${bunRow ? ratioText(bunRow) : ''} | ${r.target} | ${r.pass === null ? '' : r.pass ? 'pass' : 'not met'} |`);
  }
  return lines.join('\n');
}

module.exports = { mergeNotes, textTable, markdown, svg, readmeTable, derivedNotes, bar, WIDTH };
