/**
 * Issue 11 in n8n's in-memory `default` binary mode (n8n 1.x's default, still selectable): a binary without
 * an id is uploaded from the buffer n8n already holds.
 */
import { makePng } from '../support/fake-fal';
import { runWorkflow } from '../support/engine';
import { credentialsFor, editParams, useFakeFal } from './setup';

const server = useFakeFal();

it('an in-memory binary is uploaded from its buffer, with its length', async () => {
	const { fal } = server;
	const png = makePng(40, 30);
	const run = await runWorkflow({
		parameters: editParams({ imageSource: 'binary' }),
		credentials: credentialsFor(fal, { storageUrl: fal.storageUrl }),
		items: [{ binary: { data: { data: png, mimeType: 'image/png', fileName: 'mem.png' } } }],
	});
	expect(run.error).toBeUndefined();
	const [put] = fal.cdnRequests.filter((r) => r.kind === 'upload');
	expect(put.headers['content-length']).toBe(String(png.length));
	expect([...fal.jobs.values()][0].inputImages[0].bytes?.equals(png)).toBe(true);
});
