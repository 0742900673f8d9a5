import v8 from 'node:v8';

// Temporal runs workflow code in threads of its own, each a V8 isolate that takes the process's
// young-generation size (up to 32 MB of new space each at the default). Workflow code allocates
// little, so their isolates are created with a small one; the main thread, which fetches pages
// and whose allocation rate a small young generation would turn into GC work, keeps the default.
// Measured on the bulk benchmark: ~35 MB less peak RSS, CPU per URL unchanged.

const THREAD_SEMI_SPACE_MB = 2;

/** Runs `create` (which starts worker threads) with a small young generation for the isolates it creates. */
export async function withSmallThreadYoungGeneration<T>(create: () => Promise<T>): Promise<T> {
  // A command-line --max-semi-space-size is the operator's choice: leave it alone.
  if (process.execArgv.some((a) => a.startsWith('--max-semi-space-size'))) return create();
  v8.setFlagsFromString(`--max-semi-space-size=${THREAD_SEMI_SPACE_MB}`);
  try {
    return await create();
  } finally {
    v8.setFlagsFromString('--max-semi-space-size=0'); // 0: V8's own sizing, for isolates created later (conversion threads set theirs)
  }
}
