// Errors shaped exactly like the ones node:dgram throws: same class, `code`,
// `message`, own-property order, and `toString()` form `TypeError [CODE]: msg`.
import { join } from 'node:path';
import { inspect, getSystemErrorName, getSystemErrorMap } from 'node:util';

type ErrorClass = ErrorConstructor | TypeErrorConstructor | RangeErrorConstructor;

function codedError(Base: ErrorClass, code: string, message: string): Error {
  const err = new Base(message);
  Object.defineProperty(err, 'code', { value: code, enumerable: true, writable: true, configurable: true });
  // Node's coded errors print their code in toString() and in the stack header.
  Object.defineProperty(err, 'toString', {
    value(this: Error) {
      return `${this.name} [${code}]: ${this.message}`;
    },
    enumerable: false,
    writable: true,
    configurable: true,
  });
  if (typeof err.stack === 'string') {
    err.stack = err.stack.replace(/^[A-Za-z]*Error/, `$& [${code}]`);
  }
  return err;
}

/**
 * How the running Node describes a received value in its argument errors
 * ("Received function f", "an instance of Foo", "type string ('x')", ...).
 * The wording differs between Node lines (anonymous classes, constructors
 * without a name, long symbols), so udpkit asks the running Node itself: a
 * public API that rejects the value with ERR_INVALID_ARG_TYPE says how it
 * describes it. `path.join` takes only strings; `Buffer.alloc` only numbers.
 */
export function describeReceived(value: unknown): string {
  try {
    if (typeof value === 'string') Buffer.alloc(value as unknown as number);
    else join(value as string);
  } catch (err) {
    const { code, message } = err as { code?: unknown; message?: unknown };
    if (code === 'ERR_INVALID_ARG_TYPE' && typeof message === 'string') {
      const at = message.indexOf(RECEIVED);
      if (at >= 0) return message.slice(at + RECEIVED.length);
    } else if (code === undefined && err instanceof TypeError) {
      // The running Node's formatter itself fails on this value (Node 20 and 22
      // on `{ constructor: 5 }`); it fails the same way inside node:dgram.
      throw err;
    }
  }
  return describeReceivedAsNode20(value);
}
const RECEIVED = '. Received ';

/** Node 20's wording, in case the running Node ever stops answering as above. */
function describeReceivedAsNode20(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'function') return `function ${value.name}`;
  if (typeof value === 'object') {
    const ctor = (value as { constructor?: { name?: string } }).constructor;
    if (ctor && typeof ctor === 'object' || typeof ctor === 'function') return `an instance of ${ctor.name}`;
    return inspect(value, { depth: -1 });
  }
  if (typeof value === 'string') {
    // Node quotes the (shortened) string as is, escaping nothing unless it must switch quotes.
    const text = value.length > 28 ? `${value.slice(0, 25)}...` : value;
    return `type string (${text.includes("'") ? JSON.stringify(text) : `'${text}'`})`;
  }
  let shown = inspect(value, { colors: false });
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return `type ${typeof value} (${shown})`;
}

function listOf(items: string[]): string {
  if (items.length === 1) return items[0]!;
  if (items.length === 2) return `${items[0]} or ${items[1]}`;
  return `${items.slice(0, -1).join(', ')}, or ${items[items.length - 1]}`;
}

const PRIMITIVE_TYPES = new Set(['string', 'function', 'number', 'object', 'boolean', 'bigint', 'symbol']);

function describeName(name: string): string {
  if (name.endsWith(' argument')) return `The ${name}`;
  return `The "${name}" ${name.includes('.') ? 'property' : 'argument'}`;
}

export function invalidArgType(name: string, expected: string | string[], actual: unknown): TypeError {
  const list = Array.isArray(expected) ? expected : [expected];
  const types: string[] = [];
  const instances: string[] = [];
  for (const e of list) {
    if (PRIMITIVE_TYPES.has(e)) types.push(e);
    else instances.push(e);
  }
  let msg = `${describeName(name)} must be `;
  if (types.length > 0) {
    msg += types.length > 1 ? `one of type ${listOf(types)}` : `of type ${types[0]}`;
    if (instances.length > 0) msg += ' or ';
  }
  if (instances.length > 0) msg += `an instance of ${listOf(instances)}`;
  msg += `. Received ${describeReceived(actual)}`;
  return codedError(TypeError, 'ERR_INVALID_ARG_TYPE', msg) as TypeError;
}

function withSeparators(digits: string): string {
  let out = '';
  let i = digits.length;
  const start = digits[0] === '-' ? 1 : 0;
  for (; i >= start + 4; i -= 3) out = `_${digits.slice(i - 3, i)}${out}`;
  return `${digits.slice(0, i)}${out}`;
}

export function outOfRange(name: string, range: string, value: unknown): RangeError {
  let received: string;
  if (typeof value === 'number' && Number.isInteger(value) && Math.abs(value) > 2 ** 32) {
    received = withSeparators(String(value));
  } else if (typeof value === 'bigint') {
    received = String(value);
    if (value > 2n ** 32n || value < -(2n ** 32n)) received = withSeparators(received);
    received += 'n';
  } else {
    received = inspect(value);
  }
  return codedError(RangeError, 'ERR_OUT_OF_RANGE',
    `The value of "${name}" is out of range. It must be ${range}. Received ${received}`) as RangeError;
}

/** ERR_INVALID_ARG_VALUE: `The argument 'name' <reason>. Received <inspected value>`. */
export function invalidArgValue(name: string, value: unknown, reason: string): TypeError {
  let shown = inspect(value);
  if (shown.length > 128) shown = `${shown.slice(0, 128)}...`;
  const kind = name.includes('.') ? 'property' : 'argument';
  return codedError(TypeError, 'ERR_INVALID_ARG_VALUE', `The ${kind} '${name}' ${reason}. Received ${shown}`) as TypeError;
}

export function missingArgs(...names: string[]): TypeError {
  const quoted = names.map((n) => `"${n}"`);
  const msg = `The ${listOf(quoted)} argument${names.length > 1 ? 's' : ''} must be specified`;
  return codedError(TypeError, 'ERR_MISSING_ARGS', msg) as TypeError;
}

export const socketBadType = (): TypeError =>
  codedError(TypeError, 'ERR_SOCKET_BAD_TYPE', 'Bad socket type specified. Valid types are: udp4, udp6') as TypeError;
export const socketAlreadyBound = (): Error => codedError(Error, 'ERR_SOCKET_ALREADY_BOUND', 'Socket is already bound');
export const socketNotRunning = (): Error => codedError(Error, 'ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running');
export const socketIsConnected = (): Error => codedError(Error, 'ERR_SOCKET_DGRAM_IS_CONNECTED', 'Already connected');
export const socketNotConnected = (): Error => codedError(Error, 'ERR_SOCKET_DGRAM_NOT_CONNECTED', 'Not connected');
export const socketBadBufferSize = (): TypeError =>
  codedError(TypeError, 'ERR_SOCKET_BAD_BUFFER_SIZE', 'Buffer size must be a positive integer') as TypeError;
export const bufferOutOfBounds = (name: string): RangeError =>
  codedError(RangeError, 'ERR_BUFFER_OUT_OF_BOUNDS', `"${name}" is outside of buffer bounds`) as RangeError;
export const invalidFdType = (type: string): TypeError =>
  codedError(TypeError, 'ERR_INVALID_FD_TYPE', `Unsupported fd type: ${type}`) as TypeError;

export const ipBlocked = (ip: string): Error => codedError(Error, 'ERR_IP_BLOCKED', `IP(${ip}) is blocked by net.BlockList`);

export function badPort(name: string, port: unknown, allowZero: boolean): RangeError {
  const op = allowZero ? '>=' : '>';
  return codedError(RangeError, 'ERR_SOCKET_BAD_PORT',
    `${name} should be ${op} 0 and < 65536. Received ${describeReceived(port)}.`) as RangeError;
}

export function abortError(reason?: unknown): Error {
  const err = new Error('The operation was aborted', reason === undefined ? undefined : { cause: reason });
  err.name = 'AbortError';
  Object.defineProperty(err, 'code', { value: 'ABORT_ERR', enumerable: true, writable: true, configurable: true });
  return err;
}

/** What the "Cannot read properties of null" TypeError says when Node reaches into a closed handle. */
export function closedHandle(property: string): TypeError {
  return new TypeError(`Cannot read properties of null (reading '${property}')`);
}

export function errname(errno: number): string {
  try {
    return getSystemErrorName(errno);
  } catch {
    return `Unknown system error ${errno}`;
  }
}

function strerror(errno: number): string {
  return getSystemErrorMap().get(errno)?.[1] ?? 'unknown error';
}

export interface SystemErrorFields {
  errno: number;
  code: string;
  syscall: string;
  address?: string | undefined;
  port?: number;
}

/** `syscall CODE [extra]`, with errno/code/syscall own properties (Node's ErrnoException). */
export function errnoException(errno: number, syscall: string, extra?: string): Error & SystemErrorFields {
  const code = errname(errno);
  const err = new Error(extra ? `${syscall} ${code} ${extra}` : `${syscall} ${code}`) as Error & SystemErrorFields;
  err.errno = errno;
  err.code = code;
  err.syscall = syscall;
  return err;
}

/** `syscall CODE address:port`, with address and port own properties (Node's ExceptionWithHostPort). */
export function exceptionWithHostPort(errno: number, syscall: string, address: string | undefined, port?: number): Error & SystemErrorFields {
  const code = errname(errno);
  let details = '';
  if (port && port > 0) details = ` ${address}:${port}`;
  else if (address) details = ` ${address}`;
  const err = new Error(`${syscall} ${code}${details}`) as Error & SystemErrorFields;
  err.errno = errno;
  err.code = code;
  err.syscall = syscall;
  err.address = address;
  if (port) err.port = port;
  return err;
}

// Node's SystemError instances report this constructor name.
class NodeError extends Error {}

/** ERR_SOCKET_BUFFER_SIZE, a SystemError with an `info` object. */
export function socketBufferSizeError(errno: number, syscall: string): Error {
  const code = errname(errno);
  const message = strerror(errno);
  const info = { errno, code, message, syscall };
  const err = new NodeError(`Could not get or set buffer size: ${syscall} returned ${code} (${message})`);
  err.name = 'SystemError';
  const props: PropertyDescriptorMap = {
    code: { value: 'ERR_SOCKET_BUFFER_SIZE', enumerable: true, writable: true, configurable: true },
    info: { value: info, enumerable: true, writable: false, configurable: true },
    errno: {
      get: () => info.errno,
      set: (v: number) => { info.errno = v; },
      enumerable: true,
      configurable: true,
    },
    syscall: {
      get: () => info.syscall,
      set: (v: string) => { info.syscall = v; },
      enumerable: true,
      configurable: true,
    },
    toString: {
      value(this: Error) { return `SystemError [ERR_SOCKET_BUFFER_SIZE]: ${this.message}`; },
      enumerable: false,
      writable: true,
      configurable: true,
    },
  };
  Object.defineProperties(err, props);
  if (typeof err.stack === 'string') err.stack = err.stack.replace(/^Error/, 'SystemError [ERR_SOCKET_BUFFER_SIZE]');
  return err;
}

/** ERR_UDPKIT_UNSUPPORTED: a udpkit extension this platform (or datapath) does not have, named. */
export function unsupportedFeature(feature: string): Error {
  return codedError(Error, 'ERR_UDPKIT_UNSUPPORTED', `${feature} is not supported on this platform`);
}
