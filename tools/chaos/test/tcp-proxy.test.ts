import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { TcpProxy } from '../src/tcp-proxy.js';

/** The drill's link cutter, against a real echo server over real sockets. */
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** A server that answers every connection with its name and closes. */
async function aNamedServer(name: string): Promise<number> {
  const server: Server = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.end(name);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => server.close(() => resolve())));
  return (server.address() as { port: number }).port;
}

/** A port nothing listens on. */
async function aClosedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function anEchoProxy(): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  const proxy = new TcpProxy('echo', {
    host: '127.0.0.1',
    port: (server.address() as { port: number }).port,
  });
  await proxy.start();
  closers.push(() => proxy.close());
  return proxy;
}

/** Connects, sends `text`, and collects what comes back for `waitMs`; `error` when the connection broke. */
async function exchange(
  port: number,
  text: string,
  waitMs: number,
  during?: (socket: Socket) => void,
): Promise<{ received: string; error: boolean }> {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  let error = false;
  socket.on('data', (chunk) => (received += chunk.toString()));
  socket.on('error', () => (error = true));
  await new Promise<void>((resolve) => {
    socket.once('connect', resolve);
    socket.once('error', () => resolve());
  });
  if (!error) socket.write(text);
  during?.(socket);
  await new Promise((resolve) => setTimeout(resolve, waitMs));
  socket.destroy();
  return { received, error };
}

describe('TcpProxy', () => {
  test('when the link passes, then bytes go both ways', async () => {
    const proxy = await anEchoProxy();
    expect(await exchange(proxy.port, 'ping', 200)).toEqual({ received: 'ping', error: false });
  });

  test('when the link is refused, then new connections are reset', async () => {
    const proxy = await anEchoProxy();
    proxy.setMode('refuse');
    const result = await exchange(proxy.port, 'ping', 200);
    expect(result.received).toBe('');
    expect(result.error).toBe(true);
  });

  test('when the link is black-holed, then nothing arrives until it heals, and then the held bytes do', async () => {
    const proxy = await anEchoProxy();
    proxy.setMode('blackhole');
    const heldReceived: string[] = [];
    const result = await exchange(proxy.port, 'ping', 600, (socket) => {
      setTimeout(() => heldReceived.push(String(socket.bytesRead)), 250);
      setTimeout(() => proxy.setMode('pass'), 300);
    });
    expect(heldReceived).toEqual(['0']);
    expect(result).toEqual({ received: 'ping', error: false });
  });

  test('when it balances two targets, then connections alternate between them', async () => {
    const proxy = new TcpProxy('balancer', [
      { host: '127.0.0.1', port: await aNamedServer('a') },
      { host: '127.0.0.1', port: await aNamedServer('b') },
    ]);
    await proxy.start();
    closers.push(() => proxy.close());
    const answers: string[] = [];
    for (let i = 0; i < 4; i++) answers.push((await exchange(proxy.port, '', 150)).received);
    expect(answers).toEqual(['a', 'b', 'a', 'b']);
  });

  test('when one target refuses connections, then every connection reaches the other', async () => {
    const proxy = new TcpProxy('balancer', [
      { host: '127.0.0.1', port: await aClosedPort() },
      { host: '127.0.0.1', port: await aNamedServer('alive') },
    ]);
    await proxy.start();
    closers.push(() => proxy.close());
    const answers: string[] = [];
    for (let i = 0; i < 3; i++) answers.push((await exchange(proxy.port, '', 150)).received);
    expect(answers).toEqual(['alive', 'alive', 'alive']);
  });

  test('when the target moves, then new connections reach the new one', async () => {
    const proxy = new TcpProxy('primary', { host: '127.0.0.1', port: await aNamedServer('old') });
    await proxy.start();
    closers.push(() => proxy.close());
    expect((await exchange(proxy.port, '', 150)).received).toBe('old');
    proxy.setTargets([{ host: '127.0.0.1', port: await aNamedServer('new') }]);
    expect((await exchange(proxy.port, '', 150)).received).toBe('new');
  });
});
