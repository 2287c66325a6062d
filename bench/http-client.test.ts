import { once } from 'node:events';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type ClientRequest, LoopbackClient, type Outcome, ProtocolError } from './http-client.ts';

const servers: (Server | HttpServer)[] = [];
const clients: LoopbackClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.closeAll(new Error('test over'));
  for (const server of servers.splice(0)) {
    server.close();
    if ('closeAllConnections' in server) server.closeAllConnections();
  }
});

async function listen<T extends Server | HttpServer>(
  server: T,
): Promise<{ server: T; port: number }> {
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

function clientFor(port: number, connectionsMax = 10): LoopbackClient {
  const client = new LoopbackClient({ host: '127.0.0.1', port, connectionsMax });
  clients.push(client);
  return client;
}

function send(client: LoopbackClient, request: Partial<ClientRequest> = {}): Promise<Outcome> {
  return new Promise((resolve) =>
    client.request({ method: 'GET', path: '/', headers: {}, ...request }, resolve),
  );
}

/** A server that answers every request on a connection with the next of `answers`, as raw bytes. */
async function rawServer(
  answers: readonly string[],
  write: (socket: Socket, bytes: Buffer) => Promise<void> = async (socket, bytes) => {
    socket.write(bytes);
  },
) {
  const { port } = await listen(
    createServer((socket) => {
      let next = 0;
      let head = '';
      socket.on('data', async (data) => {
        head += data.toString('latin1');
        while (head.includes('\r\n\r\n')) {
          head = head.slice(head.indexOf('\r\n\r\n') + 4);
          const answer = answers[next++];
          if (answer === undefined) socket.destroy();
          else await write(socket, Buffer.from(answer, 'latin1'));
        }
      });
    }),
  );
  return port;
}

const byteByByte = async (socket: Socket, bytes: Buffer) => {
  for (const byte of bytes) {
    socket.write(Buffer.of(byte));
    await new Promise((resolve) => setImmediate(resolve));
  }
};

describe('LoopbackClient', () => {
  it('reads answers framed by content-length and keeps the connection for the next request', async () => {
    const { port } = await listen(
      createHttpServer((req, res) => {
        res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ path: req.url, padding: 'x'.repeat(100_000) }));
      }),
    );
    const client = clientFor(port);
    expect(await send(client)).toEqual({ status: 200 });
    expect(await send(client, { path: '/missing' })).toEqual({ status: 404 });
    expect(await send(client)).toEqual({ status: 200 });
    expect(client.connections).toBe(1);
  });

  it('reads chunked answers, also when every byte arrives on its own', async () => {
    const chunked =
      'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n' +
      '5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nx-trailer: 1\r\n\r\n';
    const port = await rawServer([chunked, chunked.replace('200 OK', '409 Conflict')], byteByByte);
    const client = clientFor(port);
    expect(await send(client)).toEqual({ status: 200 });
    expect(await send(client)).toEqual({ status: 409 });
    expect(client.connections).toBe(1);
  });

  it('reads a content-length body split across packets, an interim 100 and a bodiless 204', async () => {
    const port = await rawServer(
      [
        'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 11\r\n\r\nhello world',
        'HTTP/1.1 204 No Content\r\n\r\n',
        'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n',
      ],
      byteByByte,
    );
    const client = clientFor(port);
    expect(await send(client)).toEqual({ status: 201 });
    expect(await send(client)).toEqual({ status: 204 });
    expect(await send(client)).toEqual({ status: 200 });
    expect(client.connections).toBe(1);
  });

  it('sends the body with its length in bytes and the headers given', async () => {
    const received: { method?: string; type?: string; auth?: string; body: string }[] = [];
    const { port } = await listen(
      createHttpServer((req, res) => {
        let body = '';
        req.setEncoding('utf8');
        req.on('data', (part: string) => {
          body += part;
        });
        req.on('end', () => {
          received.push({
            method: req.method,
            type: req.headers['content-type'],
            auth: req.headers.authorization,
            body,
          });
          res.end('ok');
        });
      }),
    );
    const client = clientFor(port);
    const body = JSON.stringify({ toUser: 'Ёжик', amount: 1 });
    const outcome = await send(client, {
      method: 'POST',
      path: '/api/sendCoin',
      headers: { authorization: 'Bearer t' },
      body,
    });
    expect(outcome).toEqual({ status: 200 });
    expect(received).toEqual([
      { method: 'POST', type: 'application/json', auth: 'Bearer t', body },
    ]);
  });

  it('closes a connection the server asks to close, and opens a new one for the next request', async () => {
    const close = 'HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok';
    const port = await rawServer([close]);
    const client = clientFor(port);
    expect(await send(client)).toEqual({ status: 200 });
    expect(client.connections).toBe(0);
    expect(await send(client)).toEqual({ status: 200 });
  });

  it('fails a request whose answer is cut short or cannot be framed', async () => {
    const cut = await rawServer(
      ['HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort'],
      async (s, b) => {
        s.end(b);
      },
    );
    const cutOutcome = await send(clientFor(cut));
    expect(cutOutcome).toEqual({ error: expect.any(Error) });

    const unframed = await rawServer(['HTTP/1.1 200 OK\r\n\r\nbody until close']);
    const unframedOutcome = await send(clientFor(unframed));
    expect('error' in unframedOutcome && unframedOutcome.error).toBeInstanceOf(ProtocolError);

    const garbage = await rawServer(['SMTP ready\r\n\r\n']);
    const garbageOutcome = await send(clientFor(garbage));
    expect('error' in garbageOutcome && garbageOutcome.error).toBeInstanceOf(ProtocolError);

    const badChunk = await rawServer([
      'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n',
    ]);
    const badChunkOutcome = await send(clientFor(badChunk));
    expect('error' in badChunkOutcome && badChunkOutcome.error).toBeInstanceOf(ProtocolError);
  });

  it('refuses a request past connectionsMax at once, and fails those in flight on closeAll', async () => {
    // A server that never answers.
    const { port } = await listen(createServer(() => {}));
    const client = clientFor(port, 1);
    const first = send(client);
    expect(await send(client)).toEqual({
      error: new Error('1 connections already open'),
    });
    client.closeAll(new Error('step over'));
    expect(await first).toEqual({ error: new Error('step over') });
    expect(client.connections).toBe(0);
  });

  it('refuses a request line or header that would break the framing', async () => {
    const client = clientFor(1);
    expect(await send(client, { path: '/a b' })).toEqual({ error: expect.any(TypeError) });
    expect(await send(client, { headers: { 'x-a': 'b\r\nx-c: d' } })).toEqual({
      error: expect.any(TypeError),
    });
    expect(client.connections).toBe(0);
  });
});
