// udpkit ping: round trips against an echo server (e.g. `udpkit echo`).
import { createSocket } from '../socket';
import type { Datagram } from '../socket';
import { endpoint, err, expectPositionals, familyOf, integer, onInterrupt, out, parse, port, UsageError } from './common';

export const help = `Usage: udpkit ping HOST PORT [--count N] [--interval MS] [--size B] [--timeout MS]

Sends numbered datagrams to an echo server at HOST:PORT (for instance
\`udpkit echo\`) and times the replies. One line per reply, then
statistics: sent, received, loss, and round-trip min/avg/p50/p99/max.
Ctrl-C stops early and prints the statistics so far.
Exit code 0 if any reply came back, 1 if none did.

Options:
  -c, --count N       probes to send (default: until Ctrl-C)
  -i, --interval MS   time between probes in ms (default 1000; 0: send the
                      next one as soon as the previous reply or timeout)
  -s, --size B        datagram size in bytes, 4..65507 (default 64)
  -W, --timeout MS    how long to wait for a reply (default 1000)
  -q, --quiet         only print the statistics
  -h, --help          show this help
`;

export interface PingStats {
  sent: number;
  received: number;
  rtts: number[]; // ms
}

export function summary(target: string, s: PingStats): string {
  const loss = s.sent === 0 ? 0 : ((s.sent - s.received) / s.sent) * 100;
  const lines = [`--- ${target} ping statistics ---`, `${s.sent} sent, ${s.received} received, ${loss.toFixed(1)}% loss`];
  if (s.rtts.length > 0) {
    const sorted = [...s.rtts].sort((a, b) => a - b);
    const pct = (p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
    const avg = sorted.reduce((a, b) => a + b, 0) / sorted.length;
    const f = (x: number): string => x.toFixed(3);
    lines.push(`rtt min/avg/p50/p99/max = ${f(sorted[0])}/${f(avg)}/${f(pct(50))}/${f(pct(99))}/${f(sorted[sorted.length - 1])} ms`);
  }
  return lines.join('\n');
}

export function run(args: string[]): Promise<number> {
  const { values, positionals } = parse('ping', args, {
    count: { type: 'string', short: 'c' },
    interval: { type: 'string', short: 'i' },
    size: { type: 'string', short: 's' },
    timeout: { type: 'string', short: 'W' },
    quiet: { type: 'boolean', short: 'q' },
  });
  if (values.help) {
    process.stdout.write(help);
    return Promise.resolve(0);
  }
  const usage = 'udpkit ping HOST PORT [--count N] [--interval MS] [--size B]';
  expectPositionals('ping', positionals, 2, 2, usage);
  const [host, rawPort] = positionals;
  if (host === '') throw new UsageError('ping: HOST must not be empty');
  const p = port('ping', 'PORT', rawPort, 0);
  if (p === 0) throw new UsageError('ping: PORT must be from 1 to 65535');
  const count = values.count === undefined ? Infinity : integer('ping', '--count', values.count, 1, 1e9, 1);
  const interval = integer('ping', '--interval', values.interval, 0, 3_600_000, 1000);
  const size = integer('ping', '--size', values.size, 4, 65507, 64);
  const timeout = integer('ping', '--timeout', values.timeout, 1, 3_600_000, 1000);
  const quiet = values.quiet === true;
  const target = endpoint(host, p);

  return new Promise<number>((resolve) => {
    const socket = createSocket({ type: familyOf(host) });
    const stats: PingStats = { sent: 0, received: 0, rtts: [] };
    const inflight = new Map<number, { t0: bigint; timer: NodeJS.Timeout }>();
    let seq = 0;
    let nextTimer: NodeJS.Timeout | null = null;
    let finished = false;

    const finish = (): void => {
      if (finished) return;
      finished = true;
      if (nextTimer) clearTimeout(nextTimer);
      for (const f of inflight.values()) clearTimeout(f.timer);
      out(summary(target, stats));
      socket.close(() => resolve(stats.received > 0 ? 0 : 1));
    };
    const maybeDone = (): void => {
      if (seq >= count && inflight.size === 0) finish();
      else if (interval === 0 && inflight.size === 0 && seq < count) probe();
    };
    const probe = (): void => {
      if (finished || seq >= count) return;
      const n = seq++;
      const buf = Buffer.alloc(size, 0x2e);
      buf.writeUInt32BE(n, 0);
      const timer = setTimeout(() => {
        inflight.delete(n);
        if (!quiet) out(`no reply for seq=${n} within ${timeout} ms`);
        maybeDone();
      }, timeout);
      inflight.set(n, { t0: process.hrtime.bigint(), timer });
      stats.sent++;
      socket.send(buf, p, host, (e: Error | null) => {
        if (e) {
          err(`udpkit: ping: ${e.message}`);
          finish();
        }
      });
      if (interval > 0 && seq < count) nextTimer = setTimeout(probe, interval);
    };

    socket.on('messages', (batch: Datagram[]) => {
      const now = process.hrtime.bigint();
      for (const d of batch) {
        if (d.size < 4) continue;
        const n = d.data.readUInt32BE(0);
        const f = inflight.get(n);
        if (!f) continue; // late, duplicate or foreign
        clearTimeout(f.timer);
        inflight.delete(n);
        const ms = Number(now - f.t0) / 1e6;
        stats.received++;
        stats.rtts.push(ms);
        if (!quiet) out(`${d.size} bytes from ${endpoint(d.address, d.port)}: seq=${n} time=${ms.toFixed(3)} ms`);
      }
      maybeDone();
    });
    socket.on('error', (e: Error) => {
      err(`udpkit: ping: ${e.message}`);
      finish();
    });
    onInterrupt(finish);
    socket.bind(0, () => {
      if (!quiet) out(`PING ${target}: ${size} bytes${Number.isFinite(count) ? `, ${count} probes` : ''}`);
      probe();
    });
  });
}
