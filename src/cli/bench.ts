// udpkit bench: runs bench/run.js (udpkit vs node:dgram) with progress and a table.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { err, expectPositionals, parse } from './common';

export const help = `Usage: udpkit bench [--quick] [--only ID,...] [--json FILE] [--docs | --no-docs]

Benchmarks udpkit against node:dgram side by side, and Bun's node:dgram
when a Bun binary is found. It leads with load from ordinary senders
(several processes and source ports, plain sendmmsg batches, no GSO):
receiver CPU per datagram at 100k/s (64 B and mixed sizes) with one-way
latency p50/p99, capacity and RSS under a flood. Then udpkit's own GSO
sender (labelled as such); send fan-out to 64 peers and mixed-size send;
ping-pong with reply polling on and off, with each side's CPU and
event-loop delay; and 1 or 2 receiving processes on one port (cluster,
reusePort). Each measurement runs in child processes, repeated; the
table shows medians, min–max, the ratio to node:dgram as a number and a
bar, the target and whether it was met.

A full run takes about 5 minutes on a quiet machine, --quick about one.
Needs the source checkout (bench/, native/tools/) and a built udpkit
(npm run build); a C compiler (cc, or $CC) for the load generator, else
a slower Node generator stands in. UDPKIT_BENCH_BUN=PATH picks a Bun
binary (0: none); otherwise node_modules/@oven/bun-linux-x64 or PATH.

Options:
  --quick        one short repetition
  --only IDS     only the scenarios whose ids start with these (comma-
                 separated: recv-64, recv-mixed, recv-flood, recv-gso,
                 send-gso, send-fanout, send-mixed, pingpong, scale)
  --json FILE    where to write the results (default bench/results/latest.json,
                 or bench/results/tmp-quick.json for --quick)
  --docs         also write docs/benchmarks.md and docs/bench-ratios.svg
                 (the default for a full run)
  --no-docs      do not write them
  -h, --help     show this help
`;

interface BenchRow {
  pass: boolean | null;
}
interface BenchResults {
  rows: BenchRow[];
}
interface BenchModule {
  checkUdpkit(): string | null;
  run(options: { quick?: boolean; only?: string[]; onProgress?: (done: number, total: number, what: string) => void }): Promise<BenchResults>;
  textTable(results: BenchResults): string;
  writeOutputs(results: BenchResults, options: { json?: string; docs: boolean }): string[];
}

function progressBar(done: number, total: number, what: string): string {
  const width = 24;
  const filled = total > 0 ? Math.round((done / total) * width) : 0;
  const cols = process.stderr.columns || 80;
  const head = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} `;
  const room = Math.max(0, cols - head.length - 1);
  return head + (what.length > room ? what.slice(0, Math.max(0, room - 1)) + '…' : what);
}

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse('bench', args, {
    quick: { type: 'boolean' },
    only: { type: 'string' },
    json: { type: 'string' },
    docs: { type: 'boolean' },
    'no-docs': { type: 'boolean' },
  });
  if (values.help) {
    process.stdout.write(help);
    return 0;
  }
  expectPositionals('bench', positionals, 0, 0, 'udpkit bench [--quick] [--json FILE]');
  const quick = values.quick === true;
  // A partial run must not stand in for the whole table.
  const docs = values['no-docs'] === true ? false : values.docs === true ? true : !quick && values.only === undefined;

  const benchDir = path.resolve(__dirname, '..', '..', 'bench');
  const runner = path.join(benchDir, 'run.js');
  if (!fs.existsSync(runner)) {
    err(`udpkit: bench: ${runner} not found; the benchmark runs from a source checkout of udpkit`);
    return 1;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const bench = require(runner) as BenchModule;
  const broken = bench.checkUdpkit();
  if (broken !== null) {
    err(`udpkit: bench: ${broken}; build it first (npm run build)`);
    return 1;
  }
  const tty = process.stderr.isTTY === true;
  let lastPlain = -1;
  const onProgress = (done: number, total: number, what: string): void => {
    if (tty) {
      process.stderr.write(`\r\x1b[2K${progressBar(done, total, what)}`);
      if (done === total) process.stderr.write('\n');
    } else if (done !== lastPlain) {
      lastPlain = done;
      process.stderr.write(`bench [${done}/${total}] ${what}\n`);
    }
  };
  let interrupted = false;
  const onSig = (): void => {
    interrupted = true;
    if (tty) process.stderr.write('\n');
    err('udpkit: bench: interrupted, no results written');
    process.exit(130);
  };
  process.once('SIGINT', onSig);
  const only = typeof values.only === 'string' ? values.only.split(',').filter((x) => x !== '') : undefined;
  const results = await bench.run({ quick, only, onProgress });
  process.removeListener('SIGINT', onSig);
  if (interrupted) return 130;
  process.stdout.write(bench.textTable(results) + '\n');
  const written = bench.writeOutputs(results, { json: typeof values.json === 'string' ? values.json : undefined, docs });
  err(`wrote ${written.map((f) => path.relative(process.cwd(), f) || f).join(', ')}`);
  return 0;
}
