// Owns the open-loop generator's HTTP/1.1 client: keep-alive connections to one loopback server,
// one request at a time on each, answers read only as far as their status and their framing.
// node:http's client spends about twice the CPU per request (measured: 90 µs against 38 µs at
// 5,000 req/s against the hello-world server), CPU the generator takes from the service and
// PostgreSQL on the same cores, and its own delays then count as the service's latency.
import { connect, type Socket } from 'node:net';

/** What a request is answered with: its status, or why it got none. */
export type Outcome = { readonly status: number } | { readonly error: Error };

export interface ClientRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Sent as application/json with its length. */
  readonly body?: string;
}

interface LoopbackClientOptions {
  readonly host: string;
  readonly port: number;
  /** Connections opened at most; a request past it fails at once rather than waiting. */
  readonly connectionsMax: number;
}

/** An answer's status line and headers larger than this are refused as a protocol error. */
const HEAD_BYTES_MAX = 16 * 1024;
/** Likewise a chunk-size line: hex digits and extensions. */
const CHUNK_LINE_BYTES_MAX = 1024;

const CRLF = '\r\n';
const HEAD_END = Buffer.from('\r\n\r\n');
const LINE_END = Buffer.from(CRLF);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

/** Where a connection is in the answer it is reading. */
type Phase =
  | { readonly kind: 'head' }
  | { readonly kind: 'length'; remaining: number }
  | { readonly kind: 'chunk-size' }
  | { readonly kind: 'chunk-data'; remaining: number }
  | { readonly kind: 'chunk-end' }
  | { readonly kind: 'trailers' };

const HEAD: Phase = { kind: 'head' };

class Connection {
  readonly socket: Socket;
  private pending: Buffer | null = null;
  private phase: Phase = HEAD;
  private status = 0;
  private closeAfter = false;
  /** The answer in flight has been read to its end. */
  private complete = false;
  private done: ((outcome: Outcome) => void) | null = null;
  closed = false;
  private readonly onIdle: (connection: Connection) => void;
  private readonly onClosed: (connection: Connection) => void;

  constructor(
    options: LoopbackClientOptions,
    onIdle: (connection: Connection) => void,
    onClosed: (connection: Connection) => void,
  ) {
    this.onIdle = onIdle;
    this.onClosed = onClosed;
    this.socket = connect({ host: options.host, port: options.port, noDelay: true });
    this.socket.on('data', (data: Buffer) => this.read(data));
    this.socket.on('error', (error) => this.fail(error));
    this.socket.on('close', () => this.fail(new Error('connection closed before the answer')));
  }

  send(text: string, done: (outcome: Outcome) => void): void {
    this.done = done;
    this.socket.write(text);
  }

  /** Fails the request in flight, if any, and closes the connection for good. */
  fail(error: Error): void {
    const done = this.done;
    this.done = null;
    if (!this.closed) {
      this.closed = true;
      this.socket.destroy();
      this.onClosed(this);
    }
    done?.({ error });
  }

  private read(data: Buffer): void {
    if (this.done === null) {
      this.fail(new ProtocolError('bytes arrived with no request in flight'));
      return;
    }
    let buffer = this.pending === null ? data : Buffer.concat([this.pending, data]);
    this.pending = null;
    try {
      while (!this.complete) {
        const used = this.step(buffer);
        if (used < 0) {
          this.pending = buffer;
          return;
        }
        buffer = buffer.subarray(used);
      }
    } catch (error) {
      this.fail(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    this.finish(buffer.length);
  }

  /** Takes what it can of `buffer` for the current phase: bytes used, or -1 to wait for more. */
  private step(buffer: Buffer): number {
    const phase = this.phase;
    switch (phase.kind) {
      case 'head': {
        const end = buffer.indexOf(HEAD_END);
        if (end < 0) {
          if (buffer.length > HEAD_BYTES_MAX) throw new ProtocolError('answer head too large');
          return -1;
        }
        this.readHead(buffer.toString('latin1', 0, end));
        return end + HEAD_END.length;
      }
      case 'length':
      case 'chunk-data': {
        const used = Math.min(phase.remaining, buffer.length);
        phase.remaining -= used;
        if (phase.remaining > 0) return used === 0 ? -1 : used;
        if (phase.kind === 'length') this.complete = true;
        else this.phase = { kind: 'chunk-end' };
        return used;
      }
      case 'chunk-size': {
        const end = buffer.indexOf(LINE_END);
        if (end < 0) {
          if (buffer.length > CHUNK_LINE_BYTES_MAX) throw new ProtocolError('chunk size too long');
          return -1;
        }
        const digits = buffer.toString('latin1', 0, end).split(';', 1)[0]?.trim() ?? '';
        if (!/^[0-9a-fA-F]{1,8}$/.test(digits)) {
          throw new ProtocolError(`bad chunk size ${JSON.stringify(digits)}`);
        }
        const size = Number.parseInt(digits, 16);
        this.phase = size === 0 ? { kind: 'trailers' } : { kind: 'chunk-data', remaining: size };
        return end + LINE_END.length;
      }
      case 'chunk-end': {
        if (buffer.length < LINE_END.length) return -1;
        if (!buffer.subarray(0, LINE_END.length).equals(LINE_END)) {
          throw new ProtocolError('chunk not followed by CRLF');
        }
        this.phase = { kind: 'chunk-size' };
        return LINE_END.length;
      }
      case 'trailers': {
        // Trailer lines, if any, end with an empty line; none of them matter here.
        const end = buffer.indexOf(LINE_END);
        if (end < 0) {
          if (buffer.length > HEAD_BYTES_MAX) throw new ProtocolError('trailers too large');
          return -1;
        }
        if (end === 0) this.complete = true;
        return end + LINE_END.length;
      }
    }
  }

  private readHead(head: string): void {
    const lines = head.split(CRLF);
    const statusLine = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(lines[0] ?? '');
    if (!statusLine) throw new ProtocolError(`bad status line ${JSON.stringify(lines[0])}`);
    const status = Number(statusLine[1]);
    let length: number | null = null;
    let chunked = false;
    let close = lines[0]?.startsWith('HTTP/1.0') ?? false;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] ?? '';
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).toLowerCase();
      if (colon <= 0 || !TOKEN.test(name)) throw new ProtocolError(`bad header line ${line}`);
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length') {
        if (!/^\d{1,15}$/.test(value) || (length !== null && length !== Number(value))) {
          throw new ProtocolError(`bad content-length ${JSON.stringify(value)}`);
        }
        length = Number(value);
      } else if (name === 'transfer-encoding') {
        chunked = value.toLowerCase().split(',').at(-1)?.trim() === 'chunked';
        if (!chunked) throw new ProtocolError(`unsupported transfer-encoding ${value}`);
      } else if (name === 'connection') {
        close = close || /(?:^|,)\s*close\s*(?:,|$)/i.test(value);
      }
    }
    // An interim answer (100 Continue) comes before the real one: read on.
    if (status >= 100 && status < 200) return;
    this.status = status;
    this.closeAfter = close;
    if (chunked) {
      this.phase = { kind: 'chunk-size' };
    } else if (length !== null) {
      this.phase = { kind: 'length', remaining: length };
    } else if (status === 204 || status === 304) {
      this.phase = { kind: 'length', remaining: 0 };
    } else {
      // Without a length the body would run to the connection's end: not how keep-alive works.
      throw new ProtocolError(`answer ${status} has neither content-length nor chunked encoding`);
    }
  }

  /** The answer is complete; `left` bytes came after it, which no request asked for. */
  private finish(left: number): void {
    const done = this.done;
    this.done = null;
    this.phase = HEAD;
    this.complete = false;
    if (left > 0) {
      this.fail(new ProtocolError('bytes arrived past the answer'));
    } else if (this.closeAfter) {
      this.fail(new Error('closed by the server after its answer'));
    } else {
      this.onIdle(this);
    }
    done?.({ status: this.status });
  }
}

export class LoopbackClient {
  private readonly idle: Connection[] = [];
  private readonly open = new Set<Connection>();
  private readonly hostHeader: string;
  private readonly options: LoopbackClientOptions;

  constructor(options: LoopbackClientOptions) {
    this.options = options;
    if (!Number.isSafeInteger(options.connectionsMax) || options.connectionsMax < 1) {
      throw new RangeError('connectionsMax must be a positive integer');
    }
    this.hostHeader = `host: ${options.host}:${options.port}${CRLF}`;
  }

  /** Connections open now, idle or busy. */
  get connections(): number {
    return this.open.size;
  }

  /** Sends the request on an idle connection (or a new one); `done` is called exactly once. */
  request(request: ClientRequest, done: (outcome: Outcome) => void): void {
    let text: string;
    try {
      text = serialise(request, this.hostHeader);
    } catch (error) {
      done({ error: error as Error });
      return;
    }
    let connection = this.idle.pop();
    while (connection?.closed) connection = this.idle.pop();
    if (!connection) {
      if (this.open.size >= this.options.connectionsMax) {
        done({ error: new Error(`${this.options.connectionsMax} connections already open`) });
        return;
      }
      connection = new Connection(
        this.options,
        (c) => this.idle.push(c),
        (c) => this.open.delete(c),
      );
      this.open.add(connection);
    }
    connection.send(text, done);
  }

  /** Closes every connection (new requests open new ones); those in flight fail with `reason`. */
  closeAll(reason: Error): void {
    for (const connection of [...this.open]) connection.fail(reason);
    this.idle.length = 0;
  }
}

function serialise(request: ClientRequest, hostHeader: string): string {
  if (!TOKEN.test(request.method) || !/^\/[\x21-\x7e]*$/.test(request.path)) {
    throw new TypeError(`bad request line ${request.method} ${request.path}`);
  }
  let text = `${request.method} ${request.path} HTTP/1.1${CRLF}${hostHeader}`;
  for (const [name, value] of Object.entries(request.headers)) {
    if (!TOKEN.test(name) || /[\r\n]/.test(value)) throw new TypeError(`bad header ${name}`);
    text += `${name}: ${value}${CRLF}`;
  }
  if (request.body !== undefined) {
    text += `content-type: application/json${CRLF}content-length: ${Buffer.byteLength(request.body)}${CRLF}${CRLF}${request.body}`;
  } else {
    text += CRLF;
  }
  return text;
}
