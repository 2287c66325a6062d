// Writes the service's OpenAPI document, as GET /docs/json serves it, to a file: for client
// generators, and for `npm run lint:openapi`. The app is built embedded on a temporary data
// directory, never listening, and closed again.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildApp } from '../src/app.ts';
import { readArguments } from '../src/cli/args.ts';
import { loadConfig } from '../src/platform/config.ts';

const [file = ''] = readArguments(process.argv.slice(2), {
  command: 'node scripts/openapi.ts',
  positionals: ['FILE.json'],
  description: "Writes the service's OpenAPI document (what GET /docs/json serves) to FILE.json.",
});
const dataDir = mkdtempSync(join(tmpdir(), 'coinworks-openapi-'));
try {
  const app = await buildApp(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }));
  await app.ready();
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(app.swagger(), null, 2)}\n`);
  await app.close();
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
