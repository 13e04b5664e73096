/**
 * The FLUX Kontext Trigger through n8n-core: jobs submitted by the action node with the trigger's
 * URL as Webhook URL, delivered by the fake fal (signed with its Ed25519 key, JWKS on its REST
 * host), received by the trigger's webhook() as n8n's CLI calls it, and run as executions in
 * n8n-core's WorkflowExecute (test/support/webhook-engine.ts). Binary data in n8n's filesystem
 * mode, where a file's id names the execution it belongs to.
 */
process.env.N8N_DEFAULT_BINARY_DATA_MODE = 'filesystem';

import { captureLogs, runWorkflow } from '../support/engine';
import { startTriggerWorkflow, type ActiveTriggerWorkflow } from '../support/webhook-engine';
import {
	credentialsFor,
	editParams,
	isJpeg,
	requestsOf,
	textToImageParams,
	useFakeFal,
} from './setup';

const server = useFakeFal();

let counter = 0;
/** A JWKS URL of the test's own: the trigger caches keys per URL, per process. */
const jwksUrlOf = () => `${server.fal.jwksUrl}?test=${++counter}`;

const open: ActiveTriggerWorkflow[] = [];
async function activeTrigger(
	parameters: Record<string, unknown> = {},
	more: Parameters<typeof startTriggerWorkflow>[0] = {},
): Promise<ActiveTriggerWorkflow> {
	const workflow = await startTriggerWorkflow({
		parameters: {
			...parameters,
			options: { jwksUrl: jwksUrlOf(), ...((parameters.options as object) ?? {}) },
		},
		...more,
	});
	open.push(workflow);
	return workflow;
}
afterEach(async () => {
	await Promise.all(open.splice(0).map(async (w) => await w.close()));
});

/** Submits `n` Text to Image jobs with hand-off and the trigger's URL; returns their request ids. */
async function submitWithHandOff(url: string, n = 1, extra: Record<string, unknown> = {}) {
	const { fal } = server;
	const run = await runWorkflow({
		parameters: textToImageParams({
			waitForCompletion: false,
			options: { webhookUrl: url, ...extra },
		}),
		credentials: credentialsFor(fal),
		items: Array.from({ length: n }, (_, i) => ({ json: { i } })),
	});
	expect(run.error).toBeUndefined();
	return run.output().map((item) => item.json.request_id as string);
}

/** A job's delivery as the fake sent it (signed), once it has been sent. */
async function deliveryOf(requestId: string) {
	await server.fal.webhooksSettled();
	const delivery = server.fal.webhooks.find((d) => d.body.request_id === requestId);
	if (!delivery) throw new Error(`no delivery of ${requestId}`);
	return delivery;
}

it('a signed delivery becomes one execution whose item holds the result and its image, in that execution', async () => {
	const { fal } = server;
	const trigger = await activeTrigger();
	const [id] = await submitWithHandOff(trigger.url);
	await fal.webhooksSettled();
	await trigger.settled();

	expect(fal.webhooks.map((d) => d.status)).toEqual([200]);
	expect(fal.webhooks[0].headers['x-fal-webhook-signature']).toMatch(/^[0-9a-f]{128}$/);
	expect(trigger.executions).toHaveLength(1);
	const [execution] = trigger.executions;
	expect(execution.status).toBe('success');
	const [item] = execution.items;
	expect(item.json).toMatchObject({
		request_id: id,
		status: 'OK',
		prompt: 'A lighthouse at dawn, oil painting',
		images: [expect.objectContaining({ content_type: 'image/jpeg' })],
	});
	expect(item.pairedItem).toEqual({ item: 0 });
	expect(isJpeg(item.binary!.data.data)).toBe(true);
	expect(item.binary!.data.mimeType).toBe('image/jpeg');
	// Written by the execution, not by the webhook call (which has no execution id: n8n's "temp").
	expect(item.binary!.data.id).toContain(`/executions/${execution.id}/`);
	// The image went from the CDN without the token.
	const [download] = fal.cdnRequests.filter((r) => r.kind === 'file');
	expect(download.headers.authorization).toBeUndefined();
});

it('a batch of 5 submitted with hand-off: five executions, each with its own image', async () => {
	const trigger = await activeTrigger();
	const ids = await submitWithHandOff(trigger.url, 5);
	await server.fal.webhooksSettled();
	await trigger.settled();
	expect(trigger.executions).toHaveLength(5);
	expect(trigger.executions.map((e) => e.status)).toEqual(Array(5).fill('success'));
	const delivered = trigger.executions.map((e) => e.items[0].json.request_id as string);
	expect([...delivered].sort()).toEqual([...ids].sort());
	for (const execution of trigger.executions) {
		const [item] = execution.items;
		expect(item.binary!.data.id).toContain(`/executions/${execution.id}/`);
		expect(isJpeg(item.binary!.data.data)).toBe(true);
		expect((item.json.images as Array<{ url: string }>)[0].url).toContain(
			`/files/${item.json.request_id as string}/`,
		);
	}
});

describe('refused deliveries: 401, no execution, the reason in the log and never the body', () => {
	it.each([
		['a body altered by one byte', 'tampered'],
		['a key fal never published', 'forged'],
		['a timestamp 6 minutes old', 'stale'],
		['no signature headers', 'unsigned'],
	] as const)('%s', async (_what, kind) => {
		const { fal } = server;
		const trigger = await activeTrigger();
		// A real delivery to some other URL gives a genuine signed body to start from.
		const [id] = await submitWithHandOff('http://127.0.0.1:9/nowhere');
		const genuine = await deliveryOf(id);
		const sent = { ...genuine, url: trigger.url };
		const logs = captureLogs();
		const answer =
			kind === 'tampered'
				? await fal.signer.sendTampered(sent, (raw) => raw.replace('"seed":', '"seed":1'))
				: kind === 'forged'
					? await fal.signer.sendForged(trigger.url, genuine.body)
					: kind === 'stale'
						? await fal.signer.sendStale(trigger.url, genuine.body)
						: await fal.signer.sendUnsigned(trigger.url, genuine.body);
		await trigger.settled();
		expect(answer.status).toBe(401);
		expect(trigger.executions).toHaveLength(0);
		const refusals = logs.filter((line) => line.includes('refused a delivery (401)'));
		expect(refusals).toHaveLength(1);
		expect(refusals[0]).toMatch(
			{
				tampered: /no key .* verifies the signature/,
				forged: /no key .* verifies the signature/,
				stale: /timestamp is 36\d s old/,
				unsigned: /missing header x-fal-webhook-request-id/,
			}[kind],
		);
		expect(logs.join('\n')).not.toContain('lighthouse');
		// Nothing remembered: the genuine delivery still starts its execution afterwards.
		expect((await fal.signer.replay(sent)).status).toBe(200);
		await trigger.settled();
		expect(trigger.executions).toHaveLength(1);
	});
});

it('the same delivery twice (fal retrying, or a replay) starts one execution; both are answered 200', async () => {
	const { fal } = server;
	const trigger = await activeTrigger();
	const [id] = await submitWithHandOff(trigger.url);
	const delivery = await deliveryOf(id);
	const again = await fal.signer.replay(delivery);
	// Freshly signed again, as a retry by fal would be.
	const resigned = await fal.signer.sendSigned(trigger.url, delivery.body);
	await trigger.settled();
	expect([delivery.status, again.status, resigned.status]).toEqual([200, 200, 200]);
	expect(JSON.parse(again.body)).toMatchObject({ duplicate: true });
	expect(trigger.executions).toHaveLength(1);
	expect(trigger.savedStaticData()).toEqual({
		'node:FLUX Kontext Trigger': { deliveredRequests: { [id]: expect.any(Number) } },
	});
});

it('key rotation: the JWKS changes between deliveries and both are accepted, the JWKS read twice', async () => {
	const { fal } = server;
	const trigger = await activeTrigger();
	await submitWithHandOff(trigger.url);
	await fal.webhooksSettled();
	fal.signer.rotate();
	await submitWithHandOff(trigger.url);
	await fal.webhooksSettled();
	await trigger.settled();
	expect(fal.webhooks.map((d) => d.status)).toEqual([200, 200]);
	expect(trigger.executions.map((e) => e.status)).toEqual(['success', 'success']);
	expect(fal.signer.jwksReads).toBe(2);
});

it('fal keys unreadable (JWKS host down or answering HTML): 503 so that fal retries, no execution', async () => {
	const { fal } = server;
	const trigger = await activeTrigger();
	fal.signer.jwksAnswer = 'html';
	await submitWithHandOff(trigger.url);
	await fal.webhooksSettled();
	await trigger.settled();
	expect(fal.webhooks.map((d) => d.status)).toEqual([503]);
	expect(JSON.parse(trigger.answers[0].body).error).toMatch(/no Ed25519 key/);
	expect(trigger.executions).toHaveLength(0);
});

it('an ERROR delivery: an item with the request id, the 422 worded per field as the action node words it, and fal detail', async () => {
	const { fal } = server;
	const trigger = await activeTrigger();
	const detail = [
		{ loc: ['body', 'guidance_scale'], msg: 'Input should be less than or equal to 20', type: 'x' },
	];
	const answer = await fal.signer.sendSigned(trigger.url, {
		request_id: 'req-422',
		gateway_request_id: 'req-422',
		status: 'ERROR',
		error: 'Invalid status code: 422',
		payload: { detail },
	});
	await trigger.settled();
	expect(answer.status).toBe(200);
	const [item] = trigger.executions[0].items;
	expect(item.json).toEqual({
		request_id: 'req-422',
		status: 'ERROR',
		error:
			'fal rejected the input: Guidance Scale (guidance_scale): Input should be less than or equal to 20',
		detail,
		error_type: null,
	});
	expect(item.binary).toBeUndefined();
});

it('a job that failed at fal arrives as an ERROR item; with Emit "finished only" it starts nothing', async () => {
	const { fal } = server;
	const all = await activeTrigger();
	fal.failNextJobs(1);
	await submitWithHandOff(all.url);
	await fal.webhooksSettled();
	await all.settled();
	expect(all.executions[0].items[0].json).toMatchObject({
		status: 'ERROR',
		error: 'fal failed to run the job (503, runner_disconnected): Runner disconnected',
		error_type: 'runner_disconnected',
	});

	const okOnly = await activeTrigger({ options: { emit: 'ok' } });
	fal.failNextJobs(1);
	await submitWithHandOff(okOnly.url, 2);
	await fal.webhooksSettled();
	await okOnly.settled();
	expect(fal.webhooks.slice(1).map((d) => d.status)).toEqual([200, 200]);
	expect(okOnly.executions).toHaveLength(1);
	expect(okOnly.executions[0].items[0].json.status).toBe('OK');
});

describe('payload: null (a result too large to inline)', () => {
	it('with a credential: the result is fetched from the queue, images and all', async () => {
		const { fal } = server;
		const trigger = await activeTrigger({}, { credentials: credentialsFor(fal) });
		fal.signer.withholdPayload = true;
		const [id] = await submitWithHandOff(trigger.url);
		await fal.webhooksSettled();
		await trigger.settled();
		expect(fal.webhooks[0].body).toMatchObject({
			payload: null,
			payload_error: expect.any(String),
		});
		const [item] = trigger.executions[0].items;
		expect(item.json).toMatchObject({ request_id: id, status: 'OK', images: [expect.any(Object)] });
		expect(isJpeg(item.binary!.data.data)).toBe(true);
		expect(requestsOf(fal, 'result')).toHaveLength(1);
	});

	it.each([
		['dev', ['/fal-ai/flux-pro', '/fal-ai/flux-kontext']],
		['lora', ['/fal-ai/flux-pro', '/fal-ai/flux-kontext', '/fal-ai/flux-kontext-lora']],
	])(
		'with a credential, a [%s] job: its result is found under its own app, asked in turn: %j',
		async (model, apps) => {
			const { fal } = server;
			const trigger = await activeTrigger({}, { credentials: credentialsFor(fal) });
			fal.signer.withholdPayload = true;
			const run = await runWorkflow({
				parameters: editParams({
					model,
					waitForCompletion: false,
					options: { webhookUrl: trigger.url },
				}),
				credentials: credentialsFor(fal),
			});
			expect(run.error).toBeUndefined();
			const id = run.output()[0].json.request_id as string;
			await fal.webhooksSettled();
			await trigger.settled();
			const [item] = trigger.executions[0].items;
			expect(item.json).toMatchObject({
				request_id: id,
				status: 'OK',
				images: [expect.any(Object)],
			});
			expect(item.binary!.data.mimeType).toMatch(/^image\//);
			// The family's apps in turn, [pro]'s first: fal answers 404 under the others.
			const asked = requestsOf(fal, 'result').map((r) => r.path.split('/requests/')[0]);
			expect(asked).toEqual(apps);
		},
	);

	it('with a credential, a [dev] job whose image is gone: that error, no other app asked', async () => {
		const { fal } = server;
		const trigger = await activeTrigger({}, { credentials: credentialsFor(fal) });
		fal.signer.withholdPayload = true;
		fal.inject({ kind: 'file', status: 404, body: { detail: 'Not Found' }, times: 5 });
		const run = await runWorkflow({
			parameters: editParams({
				model: 'dev',
				waitForCompletion: false,
				options: { webhookUrl: trigger.url },
			}),
			credentials: credentialsFor(fal),
		});
		expect(run.error).toBeUndefined();
		await fal.webhooksSettled();
		await trigger.settled();
		const [execution] = trigger.executions;
		expect(execution.status).toBe('error');
		// Not "the result has expired, submit it again": the job succeeded, its image is what failed.
		expect(execution.error?.message).not.toMatch(/was not found \(404\)/);
		expect(`${execution.error?.message} ${execution.error?.description}`).toMatch(/image/i);
		const asked = requestsOf(fal, 'result').map((r) => r.path.split('/requests/')[0]);
		expect(asked).toEqual(['/fal-ai/flux-pro', '/fal-ai/flux-kontext']);
	});

	it('with a credential, a result fal no longer keeps: each app asked once, then the 404 in our words', async () => {
		const { fal } = server;
		const trigger = await activeTrigger({}, { credentials: credentialsFor(fal) });
		fal.signer.withholdPayload = true;
		fal.inject({ kind: 'result', status: 404, body: { detail: 'Request not found' }, times: 3 });
		await submitWithHandOff(trigger.url);
		await fal.webhooksSettled();
		await trigger.settled();
		const [execution] = trigger.executions;
		expect(execution.status).toBe('error');
		expect(execution.error?.message).toMatch(/^Request [0-9a-f-]{36} was not found \(404\)/);
		const asked = requestsOf(fal, 'result').map((r) => r.path.split('/requests/')[0]);
		expect(asked).toEqual([
			'/fal-ai/flux-pro',
			'/fal-ai/flux-kontext',
			'/fal-ai/flux-kontext-lora',
		]);
	});

	it('without one: the execution fails saying to use Get Result with the request id', async () => {
		const { fal } = server;
		const trigger = await activeTrigger();
		fal.signer.withholdPayload = true;
		const [id] = await submitWithHandOff(trigger.url);
		await fal.webhooksSettled();
		await trigger.settled();
		const [execution] = trigger.executions;
		expect(execution.status).toBe('error');
		expect(execution.error?.message).toContain(`request ${id} holds no result`);
		expect(execution.error?.description).toContain(`Get Result and request id ${id}`);
		expect(requestsOf(fal, 'result')).toHaveLength(0);
	});
});

it('answers fal before the images are downloaded: a CDN that does not answer never delays the 200', async () => {
	const { fal } = server;
	const trigger = await activeTrigger({}, { continueOnFail: true });
	fal.inject({ kind: 'file', hang: true, times: 10 });
	await submitWithHandOff(trigger.url);
	await fal.webhooksSettled();
	expect(fal.webhooks.map((d) => d.status)).toEqual([200]);
	expect(trigger.executions).toHaveLength(1);
	expect(trigger.executions[0].status).toBe('running');
	fal.reset();
	await trigger.settled();
	expect(trigger.executions[0].items[0].json.error).toMatch(/image/i);
});

describe('Verification "none" (gateways that do not sign)', () => {
	it('accepts an unsigned delivery, still once per request id; refuses a POST without request_id with 400', async () => {
		const { fal } = server;
		const trigger = await activeTrigger({ verification: 'none' });
		const [id] = await submitWithHandOff('http://127.0.0.1:9/nowhere');
		const genuine = await deliveryOf(id);
		const first = await fal.signer.sendUnsigned(trigger.url, genuine.body);
		const second = await fal.signer.sendUnsigned(trigger.url, genuine.body);
		const junk = await fal.signer.sendUnsigned(trigger.url, { hello: 'world' });
		await trigger.settled();
		expect([first.status, second.status, junk.status]).toEqual([200, 200, 400]);
		expect(trigger.executions).toHaveLength(1);
		expect(isJpeg(trigger.executions[0].items[0].binary!.data.data)).toBe(true);
	});
});

it('Download Images off: the URLs only; Put Output Images In Field names the binary', async () => {
	const off = await activeTrigger({ options: { downloadImages: false } });
	await submitWithHandOff(off.url);
	const named = await activeTrigger({ options: { binaryPropertyOutput: 'picture' } });
	await submitWithHandOff(named.url, 1, { numImages: 2 });
	await server.fal.webhooksSettled();
	await off.settled();
	await named.settled();
	expect(off.executions[0].items[0].binary).toBeUndefined();
	expect(Object.keys(named.executions[0].items[0].binary ?? {})).toEqual(['picture', 'picture_1']);
});

it('Split Into Items: one item per image, each with its binary under data, the job once', async () => {
	const split = await activeTrigger({ options: { splitImages: true } });
	await submitWithHandOff(split.url, 1, { numImages: 2 });
	await server.fal.webhooksSettled();
	await split.settled();
	const items = split.executions[0].items;
	expect(items).toHaveLength(2);
	expect(items.map((item) => item.json.image_index)).toEqual([0, 1]);
	expect(items.every((item) => isJpeg(item.binary!.data.data))).toBe(true);
	expect(items[0].json.request_id).toBe(items[1].json.request_id);
	expect(items[0].json.status).toBe('OK');
	expect(items[1].json.status).toBeUndefined();
	expect(items.map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 0 }]);
});
