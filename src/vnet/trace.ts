// What the network tells its 'trace' listeners, one event per thing that
// happened to a datagram, and a summary of a recorded trace.

export type TraceKind = 'send' | 'deliver' | 'drop' | 'duplicate';

export interface TraceEvent {
  /** Virtual time, ms (microsecond resolution). */
  time: number;
  kind: TraceKind;
  /**
   * Why, for 'drop': 'loss', 'fragment-loss' (a fragment was lost, so the
   * datagram never reassembles), 'queue-full', 'port-unreachable',
   * 'receive-buffer-full', 'no-route', 'nat-no-mapping', 'nat-filtered',
   * 'ttl'. For 'duplicate': 'link'. Otherwise null.
   */
  reason: string | null;
  /** Source endpoint as seen where the event happens: '10.0.0.1:4000', '[fd00::1]:4000'. */
  from: string;
  /** Destination endpoint, likewise. */
  to: string;
  /** UDP payload bytes. */
  size: number;
  /** The datagram's number: every event about one datagram (and its copies) carries the same id. */
  id: number;
  /** IP fragments the datagram crossed the link as (1: not fragmented). */
  fragments: number;
}

export interface TraceSummary {
  send: number;
  deliver: number;
  drop: number;
  duplicate: number;
  /** Drops by reason. */
  drops: Record<string, number>;
}

/** Counts a recorded trace by kind and drop reason. */
export function summarize(events: readonly TraceEvent[]): TraceSummary {
  const out: TraceSummary = { send: 0, deliver: 0, drop: 0, duplicate: 0, drops: {} };
  for (const ev of events) {
    out[ev.kind]++;
    if (ev.kind === 'drop' && ev.reason !== null) out.drops[ev.reason] = (out.drops[ev.reason] ?? 0) + 1;
  }
  return out;
}
