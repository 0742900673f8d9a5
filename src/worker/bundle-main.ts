import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflows } from './workers';

// `npm run bundle:workflows -- <file>`: the workflow bundle a deployment ships, so worker
// processes start without webpack (point WORKFLOW_BUNDLE_PATH at the file).

async function main(): Promise<void> {
  const out = path.resolve(process.argv[2] ?? 'dist/workflow-bundle.js');
  const code = await bundleWorkflows();
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, code);
  console.log(`workflow bundle: ${out} (${(code.length / 1024).toFixed(0)} KiB)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
