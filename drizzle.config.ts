import { defineConfig } from 'drizzle-kit';

// The embedded store (SQLite, the default). PostgreSQL's is drizzle.pg.config.ts; `npm run
// db:generate` generates for both.
export default defineConfig({
  dialect: 'sqlite',
  schema: './app/db/schema.ts',
  out: './migrations/sqlite',
});
