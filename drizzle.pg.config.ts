import { defineConfig } from 'drizzle-kit';

// The store on PostgreSQL (`--database-url`), from app/db/schema-pg.ts.
export default defineConfig({
  dialect: 'postgresql',
  schema: './app/db/schema-pg.ts',
  out: './migrations/postgres',
});
