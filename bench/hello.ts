// Owns the baseline: the smallest Fastify app on this machine, so that the service's numbers can
// be read as a ratio to it rather than as absolute values that depend on the hardware.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/', async () => ({ hello: 'world' }));
// The bench waits on /healthz for every server alike.
app.get('/healthz', async () => ({ status: 'ok' }));

process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
process.once('SIGINT', () => void app.close().then(() => process.exit(0)));

await app.listen({ host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 0) });
