import { createServer } from 'node:http';

/** A receiver that answers 204 to everything, in its own process. */
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.statusCode = 204;
    res.end();
  });
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address() as { port: number };
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${address.port}/hook` })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
