import { PGlite } from '@electric-sql/pglite';

console.log('imported');
const t = performance.now();
const db = new PGlite();
console.log('constructed');
await db.waitReady;
console.log('ready', (performance.now() - t).toFixed(0));
console.log(await db.query('select 1::bigint as b, version()'));
