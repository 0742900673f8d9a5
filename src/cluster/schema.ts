import { spawnSync } from 'node:child_process';

// Creates the two databases and brings their schemas to the server's version with the SQL
// tool's embedded schema files (no checkout of the server's repository needed).

export const DATABASES = { default: 'temporal', visibility: 'temporal_visibility' } as const;

export function setupSchemas(sqlTool: string, pg: { port: number; user: string; password: string }): void {
  const common = [
    '--plugin',
    'postgres12',
    '--endpoint',
    '127.0.0.1',
    '--port',
    String(pg.port),
    '--user',
    pg.user,
    '--password',
    pg.password,
  ];
  const tool = (db: string, ...args: string[]) => {
    const r = spawnSync(sqlTool, [...common, '--database', db, ...args], { encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) throw new Error(`temporal sql tool ${args[0]} on ${db} failed:\n${r.stderr || r.stdout}`);
  };
  for (const [kind, db] of Object.entries(DATABASES)) {
    const schemaName = `postgresql/v12/${kind === 'default' ? 'temporal' : 'visibility'}`;
    tool(db, 'create-database');
    tool(db, 'setup-schema', '--version', '0.0');
    tool(db, 'update-schema', '--schema-name', schemaName);
  }
}
