import { createServer } from 'node:http';
import { announce } from './order-schema.js';

/** Ceiling 1: node:http answering every request with a fixed small JSON body, no parsing. */
const body = Buffer.from('{"ok":true}');
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
});
server.keepAliveTimeout = 0;
server.listen(0, '127.0.0.1', () => announce((server.address() as { port: number }).port));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
