import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { BulkConversionResult } from '../src/workflows/bulk-conversion/contract';
import { getJob, readResults, startJobDirect } from './fixtures/bulk-jobs';
import { startTestSite, TestSite } from './fixtures/test-site';
import { testApp } from './harness/api';
import { KEYS, RunningWorkers, startWorkers, testClient, testConfig } from './harness/temporal';

// 20,000 URLs in one job: the list travels as a stored manifest, results go to storage, and
// the workflow continues as new every few chunks so no run's history grows large.

const EventType = temporal.api.enums.v1.EventType;

let client: Client;
let site: TestSite;
let workers: RunningWorkers;

beforeAll(async () => {
  client = await testClient();
  site = await startTestSite({ latencyMs: 0 });
});
afterAll(async () => {
  await workers?.shutdown();
  await site?.close();
  await client?.connection.close();
});

test("a 20,000-URL job continues as new, keeps every run's history small and reports all 20,000 results", async () => {
  const config = testConfig();
  workers = await startWorkers(config);
  const total = 20_000;
  const urls = Array.from({ length: total }, (_, i) => site.url(`/page/${i}`));
  const jobId = `bulk-scale-${Date.now()}`;
  // 40 chunks of 500, at most 10 chunk activities per run → at least 4 runs.
  const handle = await startJobDirect(client, config, jobId, urls, {
    format: 'markdown',
    concurrency: 200,
    tuning: { chunkSize: 500, chunkParallelism: 50, chunksPerRun: 10 },
  });
  const result = (await handle.result()) as BulkConversionResult;
  expect(result).toMatchObject({ status: 'completed', total, succeeded: total, failed: 0, successRate: 1 });
  expect(result.results).toBeUndefined();

  // Continue-as-new happened: several runs, all but the last ended ContinuedAsNew.
  const runs = [];
  for await (const run of client.workflow.list({ query: `WorkflowId = "${jobId}"` })) runs.push(run);
  expect(runs.length).toBeGreaterThanOrEqual(4);
  expect(runs.filter((r) => r.status.name === 'CONTINUED_AS_NEW')).toHaveLength(runs.length - 1);
  for (const run of runs) {
    const history = await client.workflow.getHandle(jobId, run.runId).fetchHistory();
    const events = history.events ?? [];
    expect(events.length).toBeLessThan(500);
    if (run.status.name === 'CONTINUED_AS_NEW')
      expect(events[events.length - 1].eventType).toBe(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW);
  }

  // Every URL exactly once, in order, in the results file; the API links to it instead of inlining.
  const lines = await readResults(config, jobId);
  expect(lines).toHaveLength(total);
  expect(lines.every((l, i) => l.index === i && l.url === urls[i] && l.status === 'success')).toBe(true);
  const job = await getJob(testApp(config, client), KEYS.alice, jobId);
  expect(job.status).toBe('completed');
  expect(job.result!.results).toBeUndefined();
  expect(job.result!.resultsUrl).toMatch(new RegExp(`/api/v1/jobs/${jobId}/files/results.jsonl$`));
  expect(job.progress).toEqual({ total, succeeded: total, failed: 0, inFlight: 0, pending: 0 });
}, 240_000);
