// Shared bits of the udpkit command: usage errors, argument parsing, number checks.
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';

/** A bad command line: printed as one `udpkit: ...` line, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** parseArgs in strict mode, its errors turned into one-line UsageErrors. */
export function parse(command: string, args: string[], options: Options): Parsed {
  try {
    const r = parseArgs({ args, options: { help: { type: 'boolean', short: 'h' }, ...options }, strict: true, allowPositionals: true });
    return { values: r.values as Record<string, string | boolean | undefined>, positionals: r.positionals };
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    // parseArgs messages can run to two sentences with advice; keep the first.
    const first = msg.split(/\.\s/)[0].replace(/\.$/, '');
    throw new UsageError(`${command}: ${first} (see 'udpkit ${command} --help')`);
  }
}

export function integer(command: string, name: string, raw: string | boolean | undefined, min: number, max: number, dflt: number): number {
  if (raw === undefined) return dflt;
  const s = String(raw);
  const n = /^\d+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${command}: ${name} must be an integer from ${min} to ${max}, got '${s}'`);
  }
  return n;
}

export function port(command: string, name: string, raw: string | boolean | undefined, dflt: number): number {
  return integer(command, name, raw, 0, 65535, dflt);
}

/** 'udp6' for an IPv6 literal, else 'udp4'. */
export function familyOf(host: string): 'udp4' | 'udp6' {
  return host.includes(':') ? 'udp6' : 'udp4';
}

/** host:port, with brackets for IPv6. */
export function endpoint(address: string, p: number): string {
  return address.includes(':') ? `[${address}]:${p}` : `${address}:${p}`;
}

export function expectPositionals(command: string, positionals: string[], min: number, max: number, usage: string): void {
  if (positionals.length < min) throw new UsageError(`${command}: missing arguments; usage: ${usage}`);
  if (positionals.length > max) throw new UsageError(`${command}: unexpected argument '${positionals[max]}'; usage: ${usage}`);
}

/** Writes to stdout; a closed pipe (e.g. `| head`) ends the command quietly. */
export function out(line: string): void {
  process.stdout.write(line + '\n');
}

export function err(line: string): void {
  process.stderr.write(line + '\n');
}

/** Runs `onSignal` once on the first SIGINT or SIGTERM. */
export function onInterrupt(onSignal: () => void): void {
  let fired = false;
  const h = (): void => {
    if (fired) return;
    fired = true;
    onSignal();
  };
  process.once('SIGINT', h);
  process.once('SIGTERM', h);
}
