/**
 * Issue 11 in n8n's `database` binary mode (n8n 2.x's default in queue mode), through the stand-in of the
 * CLI's database manager (test/support/database-binary-store.ts): a stream from that store is the whole file
 * at once, and the upload must still carry every byte with the right length.
 */
process.env.N8N_DEFAULT_BINARY_DATA_MODE = 'database';

import { createHash } from 'node:crypto';

import { runWorkflow } from '../support/engine';
import { generatedFileChunks } from '../support/test-nodes';
import { credentialsFor, editParams, requestsOf, useFakeFal } from './setup';

const server = useFakeFal();

it('a binary stored in the database is uploaded whole and the job sees its bytes; the output images land in the same store', async () => {
	const { fal } = server;
	const size = 3 * 1024 * 1024 + 17;
	const run = await runWorkflow({
		parameters: editParams({ imageSource: 'binary' }),
		credentials: credentialsFor(fal, { storageUrl: fal.storageUrl }),
		items: [
			{ binary: { data: { generateBytes: size, mimeType: 'image/png', fileName: 'scan.png' } } },
		],
	});
	expect(run.error).toBeUndefined();
	const [put] = fal.cdnRequests.filter((r) => r.kind === 'upload');
	expect(put.bodyBytes).toBe(size);
	expect(put.headers['content-length']).toBe(String(size));
	const [job] = fal.jobs.values();
	expect(requestsOf(fal, 'submit')[0].body).toMatchObject({
		image_url: [...fal.uploads.values()][0].fileUrl,
	});
	const expected = createHash('sha256');
	for (const chunk of generatedFileChunks(size, 1)) expected.update(chunk);
	expect(createHash('sha256').update(job.inputImages[0].bytes!).digest('hex')).toBe(
		expected.digest('hex'),
	);
	expect(run.output()[0].binary?.data.id).toMatch(/^database:/);
});
