/**
 * The fake fal's storage API, driven with plain fetch: it must speak fal's storage protocol (fal-js
 * libs/client/src/storage.ts, fal-queue-protocol.md "Storage upload") and refuse what fal's would refuse.
 */
import { FakeFal, VALID_TOKEN, makePng } from '../support/fake-fal';

const AUTH = { authorization: `Key ${VALID_TOKEN}`, 'content-type': 'application/json' };

let fal: FakeFal;
beforeAll(async () => {
	fal = await FakeFal.start({ timing: () => ({ queueMs: 0, runMs: 10 }) });
});
afterEach(() => fal.reset());
afterAll(async () => {
	await fal.stop();
});

async function initiate(
	multipart = false,
	headers: Record<string, string> = AUTH,
): Promise<{ status: number; body: any }> {
	const response = await fetch(
		`${fal.storageUrl}/storage/upload/${multipart ? 'initiate-multipart' : 'initiate'}?storage_type=fal-cdn-v3`,
		{
			method: 'POST',
			headers,
			body: JSON.stringify({ content_type: 'image/png', file_name: 'a.png' }),
		},
	);
	return { status: response.status, body: await response.json() };
}

it('initiate needs the token and answers upload_url (CDN origin, signed) and file_url', async () => {
	expect((await initiate(false, { 'content-type': 'application/json' })).status).toBe(401);
	const { status, body } = await initiate();
	expect(status).toBe(200);
	expect(new URL(body.upload_url).origin).toBe(fal.cdnUrl);
	expect(new URL(body.upload_url).searchParams.get('signature')).toBeTruthy();
	expect(body.file_url).toMatch(new RegExp(`^${fal.cdnUrl}/files/uploads/.+/a\\.png$`));
	expect(fal.storageRequests.map((r) => r.kind)).toEqual(['initiate', 'initiate']);
});

it('the PUT refuses an Authorization header and a bad signature; once done, the file is served', async () => {
	const { body } = await initiate();
	const png = makePng(3, 3);
	expect(
		(
			await fetch(body.upload_url, {
				method: 'PUT',
				body: png,
				headers: { authorization: `Key ${VALID_TOKEN}` },
			})
		).status,
	).toBe(400);
	expect(
		(
			await fetch(body.upload_url.replace(/signature=[^&]+/, 'signature=forged'), {
				method: 'PUT',
				body: png,
			})
		).status,
	).toBe(403);
	expect(
		(
			await fetch(body.upload_url, {
				method: 'PUT',
				body: png,
				headers: { 'content-type': 'image/png' },
			})
		).status,
	).toBe(200);
	const file = await fetch(body.file_url);
	expect(file.headers.get('content-type')).toBe('image/png');
	expect(Buffer.from(await file.arrayBuffer()).equals(png)).toBe(true);
});

it('multipart: parts answer etags; complete joins them in order and checks every etag', async () => {
	const { body } = await initiate(true);
	const url = new URL(body.upload_url);
	const at = (suffix: string) => `${url.origin}${url.pathname}/${suffix}${url.search}`;
	const parts = [Buffer.from('first-'), Buffer.from('second')];
	const etags: Array<{ partNumber: number; etag: string }> = [];
	for (const [index, part] of parts.entries()) {
		const answer = await fetch(at(String(index + 1)), { method: 'PUT', body: part });
		etags.push((await answer.json()) as { partNumber: number; etag: string });
	}
	const complete = (list: unknown) =>
		fetch(at('complete'), {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ parts: list }),
		});
	expect((await complete([etags[0]])).status).toBe(400);
	expect((await complete([{ ...etags[0], etag: 'wrong' }, etags[1]])).status).toBe(400);
	expect((await complete(etags)).status).toBe(200);
	expect(Buffer.from(await (await fetch(body.file_url)).arrayBuffer()).toString()).toBe(
		'first-second',
	);
});

it('a job sees its uploaded input, and fails with a 422 when the file it names was never uploaded', async () => {
	const { body } = await initiate();
	const submit = async () => {
		const response = await fetch(`${fal.url}/fal-ai/flux-pro/kontext`, {
			method: 'POST',
			headers: AUTH,
			body: JSON.stringify({ prompt: 'x', image_url: body.file_url }),
		});
		return (await response.json()) as { request_id: string; response_url: string };
	};
	const missing = await submit();
	expect(fal.jobs.get(missing.request_id)?.inputImages).toEqual([
		{ url: body.file_url, source: 'uploaded', contentType: 'image/png', bytes: undefined },
	]);
	// Until the job has completed (bounded: a loaded machine may take its time).
	for (let i = 0; i < 150 && fal.jobs.get(missing.request_id)?.state !== 'COMPLETED'; i++)
		await new Promise((resolve) => setTimeout(resolve, 20));
	const result = await fetch(missing.response_url, { headers: AUTH });
	expect(result.status).toBe(422);
	expect(JSON.stringify(await result.json())).toMatch(/image_url/);

	const png = makePng(2, 2);
	await fetch(body.upload_url, {
		method: 'PUT',
		body: png,
		headers: { 'content-type': 'image/png' },
	});
	const seen = await submit();
	expect(fal.jobs.get(seen.request_id)?.inputImages[0].bytes?.equals(png)).toBe(true);
});
