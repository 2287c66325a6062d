// drizzle-kit's settings: `npm run db:generate` writes a new SQL migration to migrations/ from the
// features' schema files; the service applies them at start-up (src/platform/database.ts).
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './src/features/*/*.schema.ts',
  out: './migrations',
});
