// Argument validation with node:dgram's exact errors.
import { badPort, invalidArgType, outOfRange } from './errors';
import { literalsSkipLookup } from './node-line';

/** A port as Node accepts it: a number or numeric string in range. Returns it as an integer. */
export function validatePort(port: unknown, name = 'Port', allowZero = true): number {
  if ((typeof port !== 'number' && typeof port !== 'string') ||
      (typeof port === 'string' && port.trim().length === 0) ||
      +port !== (+port >>> 0) ||
      +port > 0xFFFF ||
      (!allowZero && (literalsSkipLookup ? +port === 0 : port === 0))) {
    throw badPort(name, port, allowZero);
  }
  return +port | 0;
}

export function validateString(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string') throw invalidArgType(name, 'string', value);
}

export function validateNumber(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number') throw invalidArgType(name, 'number', value);
}

export function validateFunction(value: unknown, name: string): asserts value is (...args: never[]) => unknown {
  if (typeof value !== 'function') throw invalidArgType(name, 'function', value);
}

export function validateUint32(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number') throw invalidArgType(name, 'number', value);
  if (!Number.isInteger(value)) throw outOfRange(name, 'an integer', value);
  if (value < 0 || value > 0xFFFFFFFF) throw outOfRange(name, '>= 0 && <= 4294967295', value);
}

export function validateAbortSignal(signal: unknown, name: string): asserts signal is AbortSignal {
  if (signal !== undefined &&
      (signal === null || typeof signal !== 'object' || !('aborted' in signal))) {
    throw invalidArgType(name, 'AbortSignal', signal);
  }
}

export function isArrayBufferView(value: unknown): value is ArrayBufferView {
  return ArrayBuffer.isView(value);
}

/** Port as the kernel will see it: ToUint32, then the low 16 bits (what a C uint16 cast does). */
export function toWirePort(port: unknown): number {
  return (Number(port) >>> 0) & 0xFFFF;
}
