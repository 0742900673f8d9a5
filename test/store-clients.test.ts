import { createHash, generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import { ApplicationFailure } from '@temporalio/common';
import { ascClientFrom, playClientFrom, ProviderHttpError } from '../src/activities/publishing-build/stores';
import { createAscClient } from '../src/activities/publishing-build/stores/asc-client';
import { STORE_FAILURE_TYPES, storeCall } from '../src/activities/publishing-build/stores/store-failure';
import { testConfig, waitFor } from './harness/temporal';
import {
  buildSampleArtifact,
  makeSampleRepo,
  startStoreFixture,
  StoreFixture,
  TEST_ASC_APP_ID,
  TEST_PACKAGE,
} from './fixtures/store-stack';

// The real App Store Connect and Google Play clients against the store emulator: signed
// requests, uploads checked byte for byte, state machines, and the store errors users meet.

let stores: StoreFixture;
let repo: string;
const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

beforeAll(async () => {
  stores = await startStoreFixture({ partSize: 200 });
  repo = makeSampleRepo().repo;
});
afterAll(async () => {
  await stores?.close();
});
beforeEach(() => stores.emulator.reset());

const config = () => testConfig(stores.env);

async function uploadIpa(version: string, buildNumber: number) {
  const asc = ascClientFrom(config());
  const ipa = buildSampleArtifact(repo, 'ios', version, buildNumber);
  const uploadId = await asc.createBuildUpload(TEST_ASC_APP_ID, version, buildNumber);
  const file = await asc.createUploadFile(uploadId, 'Sample.ipa', fs.statSync(ipa).size);
  for (const op of file.operations) await asc.uploadPart(op, ipa);
  await asc.commitUploadFile(file.id, sha256(ipa));
  return { asc, uploadId, parts: file.operations.length };
}

describe('App Store Connect', () => {
  test('upload in parts, processing to VALID, attach, submit, review to COMPLETE; then a duplicate build number is refused', async () => {
    const { asc, uploadId, parts } = await uploadIpa('1.4.0', 7);
    expect(parts).toBeGreaterThan(1);
    expect(stores.emulator.stats().partsUploaded).toBe(parts);
    const processed = await waitFor(async () => {
      const s = await asc.buildUploadStatus(uploadId);
      return s.processingState && s.processingState !== 'PROCESSING' ? s : undefined;
    }, 'processing');
    expect(processed).toMatchObject({ state: 'COMPLETE', processingState: 'VALID' });

    const versionId = await asc.findOrCreateVersion(TEST_ASC_APP_ID, '1.4.0');
    expect(await asc.findOrCreateVersion(TEST_ASC_APP_ID, '1.4.0')).toBe(versionId);
    await asc.attachBuild(versionId, processed.buildId!);
    const submissionId = await asc.openReviewSubmission(TEST_ASC_APP_ID);
    expect(await asc.openReviewSubmission(TEST_ASC_APP_ID)).toBe(submissionId);
    await asc.addReviewItem(submissionId, versionId);
    await asc.addReviewItem(submissionId, versionId); // already an item: fine
    expect(await asc.submitReview(submissionId)).toBe('WAITING_FOR_REVIEW');
    const done = await waitFor(async () => {
      const r = await asc.reviewSubmission(submissionId);
      return r.state === 'COMPLETE' ? r : undefined;
    }, 'review');
    expect(done.reason).toBeUndefined();

    const dup = await storeCall(
      'App Store Connect',
      'create the build upload',
      () => asc.createBuildUpload(TEST_ASC_APP_ID, '1.4.0', 7),
      7,
    ).catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(ApplicationFailure);
    expect(dup).toMatchObject({ type: STORE_FAILURE_TYPES.duplicateBuild, nonRetryable: true });
    expect((dup as Error).message).toMatch(/build number 7 was already used/);
  });

  test("processing INVALID carries the reason; a rejected review carries App Review's words; a submitted review can be cancelled", async () => {
    stores.emulator.behave({ nextProcessing: { state: 'INVALID', reason: 'Missing required icon file.' } });
    const { asc, uploadId } = await uploadIpa('1.5.0', 1);
    const invalid = await waitFor(async () => {
      const s = await asc.buildUploadStatus(uploadId);
      return s.processingState && s.processingState !== 'PROCESSING' ? s : undefined;
    }, 'processing');
    expect(invalid).toMatchObject({ processingState: 'INVALID', reason: 'Missing required icon file.' });

    const ok = await uploadIpa('1.6.0', 1);
    const valid = await waitFor(async () => {
      const s = await ok.asc.buildUploadStatus(ok.uploadId);
      return s.processingState === 'VALID' ? s : undefined;
    }, 'processing');
    const versionId = await asc.findOrCreateVersion(TEST_ASC_APP_ID, '1.6.0');
    await asc.attachBuild(versionId, valid.buildId!);
    stores.emulator.behave({ nextReview: { outcome: 'REJECTED', reason: 'Guideline 4.0 - Design' } });
    const sub = await asc.openReviewSubmission(TEST_ASC_APP_ID);
    await asc.addReviewItem(sub, versionId);
    await asc.submitReview(sub);
    const rejected = await waitFor(async () => {
      const r = await asc.reviewSubmission(sub);
      return r.state === 'UNRESOLVED_ISSUES' ? r : undefined;
    }, 'rejection');
    expect(rejected.reason).toBe('Guideline 4.0 - Design');
    expect(await asc.cancelReview(sub)).toBe('CANCELING');
    expect(stores.emulator.stats().submissionsCanceled).toBe(1);
  });

  test("a zip without Payload/*.app fails processing with the store's reason; a bad checksum is refused at commit", async () => {
    const asc = ascClientFrom(config());
    const notIpa = buildSampleArtifact(repo, 'android', '2.0.0', 3); // an .aab: a zip without Payload/
    const uploadId = await asc.createBuildUpload(TEST_ASC_APP_ID, '2.0.0', 3);
    const file = await asc.createUploadFile(uploadId, 'Sample.ipa', fs.statSync(notIpa).size);
    for (const op of file.operations) await asc.uploadPart(op, notIpa);
    await expect(asc.commitUploadFile(file.id, 'f'.repeat(64))).rejects.toThrow(/checksum does not match/);
    await asc.commitUploadFile(file.id, sha256(notIpa));
    const failed = await waitFor(async () => {
      const s = await asc.buildUploadStatus(uploadId);
      return s.state === 'FAILED' ? s : undefined;
    }, 'the upload to fail');
    expect(failed.errors.join()).toMatch(/no Payload\/<App>\.app\//);
  });

  test('a JWT signed with an unknown key is refused with 401, and 429 carries Retry-After as a retryable failure', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const stranger = createAscClient({
      baseUrl: stores.emulator.ascBaseUrl,
      keyId: stores.keys.asc.keyId,
      issuerId: stores.keys.asc.issuerId,
      privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      http: { policy: { allowHosts: ['127.0.0.1'] }, timeoutMs: 5000, connectTimeoutMs: 2000 },
    });
    const refused = await stranger.openReviewSubmission(TEST_ASC_APP_ID).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ProviderHttpError);
    expect(refused).toMatchObject({ status: 401, code: 'NOT_AUTHORIZED' });
    expect(stores.emulator.stats().authFailures).toBe(1);

    stores.emulator.addFault({ api: 'asc', route: 'reviewSubmissions', status: 429, retryAfterSeconds: 3, times: 1 });
    const asc = ascClientFrom(config());
    const limited = await storeCall('App Store Connect', 'open a review submission', () => asc.openReviewSubmission(TEST_ASC_APP_ID)).catch(
      (e: unknown) => e,
    );
    expect(limited).toMatchObject({ type: 'ProviderRateLimited', nonRetryable: false, nextRetryDelay: 3000 });
  });
});

describe('over the platform HTTP client', () => {
  test('a 500 is a retryable failure; an upload slower than its deadline is cut off as a retryable network failure', async () => {
    stores.emulator.addFault({ api: 'asc', route: 'createBuildUpload', status: 500, times: 1 });
    const asc = ascClientFrom(config());
    const failed = await storeCall('App Store Connect', 'create the build upload', () =>
      asc.createBuildUpload(TEST_ASC_APP_ID, '3.0.0', 1),
    ).catch((e: unknown) => e);
    expect(failed).toMatchObject({ type: 'ProviderUnavailable', nonRetryable: false });
    expect((failed as Error).message).toMatch(/HTTP 500/);

    // A client whose calls may take 1 s, against an emulator that accepts each part after 3 s.
    const quick = createAscClient({
      baseUrl: stores.emulator.ascBaseUrl,
      keyId: stores.keys.asc.keyId,
      issuerId: stores.keys.asc.issuerId,
      privateKeyPem: fs.readFileSync(stores.keys.asc.privateKeyPath, 'utf8'),
      http: { policy: { allowHosts: ['127.0.0.1'] }, timeoutMs: 1_000, connectTimeoutMs: 1_000 },
    });
    const ipa = buildSampleArtifact(repo, 'ios', '3.0.0', 2);
    const uploadId = await quick.createBuildUpload(TEST_ASC_APP_ID, '3.0.0', 2);
    const file = await quick.createUploadFile(uploadId, 'Sample.ipa', fs.statSync(ipa).size);
    stores.emulator.behave({ uploadDelayMs: 3_000 });
    const started = Date.now();
    const slow = await storeCall('App Store Connect', 'upload part 1', () => quick.uploadPart(file.operations[0], ipa)).catch(
      (e: unknown) => e,
    );
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(slow).toMatchObject({ type: 'ProviderNetworkError', nonRetryable: false });
    expect((slow as Error).message).toMatch(/upload part 1: timed out after \d+ ms/);
  });

  test('an upload to a host outside the policy is refused before a byte is sent', async () => {
    const asc = createAscClient({
      baseUrl: stores.emulator.ascBaseUrl,
      keyId: stores.keys.asc.keyId,
      issuerId: stores.keys.asc.issuerId,
      privateKeyPem: fs.readFileSync(stores.keys.asc.privateKeyPath, 'utf8'),
      http: { policy: { allowHosts: [] }, timeoutMs: 1_000, connectTimeoutMs: 1_000 },
    });
    const ipa = buildSampleArtifact(repo, 'ios', '3.0.0', 3);
    const op = { method: 'PUT', url: `${stores.emulator.ascBaseUrl}/upload/x`, offset: 0, length: 10, requestHeaders: [] };
    const refused = await storeCall('App Store Connect', 'upload part 1', () => asc.uploadPart(op, ipa)).catch((e: unknown) => e);
    expect(refused).toMatchObject({ type: 'ProviderTargetBlocked', nonRetryable: true });
    expect(stores.emulator.stats().partsUploaded).toBe(0);
  });
});

describe('Google Play', () => {
  test('token exchange, edit, bundle upload, staged rollout with release notes, commit; the version code is then used', async () => {
    const play = playClientFrom(config());
    const aab = buildSampleArtifact(repo, 'android', '1.4.0', 12);
    const editId = await play.insertEdit(TEST_PACKAGE);
    const bundle = await play.uploadBundle(TEST_PACKAGE, editId, aab, fs.statSync(aab).size);
    expect(bundle).toEqual({ versionCode: 12, sha256: sha256(aab) });
    await play.updateTrack(TEST_PACKAGE, editId, 'beta', [
      { versionCodes: ['12'], status: 'inProgress', userFraction: 0.2, releaseNotes: [{ language: 'en-US', text: 'Faster sync' }] },
    ]);
    await play.commitEdit(TEST_PACKAGE, editId);
    expect(stores.emulator.stats()).toMatchObject({ tokenExchanges: 1, editsCommitted: 1, bundlesUploaded: 1 });
    const tracks = stores.emulator.state().playTracks.get(TEST_PACKAGE)!;
    expect(tracks.get('beta')).toEqual([
      { versionCodes: ['12'], status: 'inProgress', userFraction: 0.2, releaseNotes: [{ language: 'en-US', text: 'Faster sync' }] },
    ]);

    const again = await play.insertEdit(TEST_PACKAGE);
    const dup = await storeCall(
      'Google Play',
      'upload the bundle',
      () => play.uploadBundle(TEST_PACKAGE, again, aab, fs.statSync(aab).size),
      12,
    ).catch((e: unknown) => e);
    expect(dup).toMatchObject({ type: STORE_FAILURE_TYPES.duplicateBuild, nonRetryable: true });
    expect((dup as Error).message).toMatch(/Version code 12 has already been used/);
  });

  test('the draft-app error is permanent and says what to do; a bundle without the manifest is refused', async () => {
    stores.emulator.behave({ draftApps: [TEST_PACKAGE] });
    const play = playClientFrom(config());
    const aab = buildSampleArtifact(repo, 'android', '1.0.0', 40);
    const editId = await play.insertEdit(TEST_PACKAGE);
    await play.uploadBundle(TEST_PACKAGE, editId, aab, fs.statSync(aab).size);
    const err = await storeCall('Google Play', 'update the track', () =>
      play.updateTrack(TEST_PACKAGE, editId, 'internal', [{ versionCodes: ['40'], status: 'completed' }]),
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ type: STORE_FAILURE_TYPES.draftApp, nonRetryable: true });
    expect((err as Error).message).toMatch(/Only releases with status draft may be created on draft app.*submitForReview: false/);
    await play.updateTrack(TEST_PACKAGE, editId, 'internal', [{ versionCodes: ['40'], status: 'draft' }]);

    const ipa = buildSampleArtifact(repo, 'ios', '1.0.0', 41);
    await expect(play.uploadBundle(TEST_PACKAGE, editId, ipa, fs.statSync(ipa).size)).rejects.toThrow(
      /no base\/manifest\/AndroidManifest\.xml/,
    );
  });

  test('a service account the token endpoint does not know gets invalid_grant', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const cfg = testConfig({
      ...stores.env,
      PLAY_SERVICE_ACCOUNT_JSON_PATH: undefined,
      PLAY_SERVICE_ACCOUNT_JSON: JSON.stringify({
        client_email: 'intruder@example.iam.gserviceaccount.com',
        private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
        token_uri: stores.emulator.playTokenUrl,
      }),
    });
    await expect(playClientFrom(cfg).insertEdit(TEST_PACKAGE)).rejects.toThrow(/invalid_grant/);
  });
});
