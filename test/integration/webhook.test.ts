/**
 * The hand-off pattern of examples/handoff-webhook-wait.json: submit with Wait for Completion off and
 * `{{ $execution.resumeUrl }}` as the webhook, park in a Wait node, then Get Result with the request_id from
 * fal's webhook body. n8n's Wait node is not available here, so the test checks each seam of the pattern:
 * what the node sends fal, what fal then POSTs, and that Get Result turns that POST (as the Wait node outputs it)
 * into the finished result.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';

import { REPO_ROOT, runWorkflow } from '../support/engine';
import { credentialsFor, isJpeg, requestsOf, useFakeFal } from './setup';

const server = useFakeFal();

interface ExampleNode {
	name: string;
	type: string;
	parameters: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}
const example = JSON.parse(
	fs.readFileSync(path.join(REPO_ROOT, 'examples', 'handoff-webhook-wait.json'), 'utf8'),
) as { nodes: ExampleNode[] };
const exampleNode = (name: string): ExampleNode => {
	const node = example.nodes.find((n) => n.name === name);
	if (!node) throw new Error(`examples/handoff-webhook-wait.json has no node "${name}"`);
	return node;
};
const SUBMIT = exampleNode('Submit the edit');
const WAIT = exampleNode("Wait for fal's webhook");
const GET_RESULT = exampleNode('Get the result');

/** What a webhook receiver got: one entry per request. */
interface Received {
	method: string;
	url: string;
	headers: http.IncomingHttpHeaders;
	body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** A tiny webhook receiver on 127.0.0.1, standing in for n8n's /webhook-waiting/ endpoint. */
async function startReceiver(): Promise<{
	url: string;
	received: Received[];
	close: () => Promise<void>;
}> {
	const received: Received[] = [];
	const receiver = http.createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (chunk: Buffer) => chunks.push(chunk));
		req.on('end', () => {
			const text = Buffer.concat(chunks).toString('utf8');
			let body: unknown = text;
			try {
				body = JSON.parse(text);
			} catch {
				// kept as text
			}
			received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
			res.writeHead(200, { 'content-type': 'application/json' });
			res.end('{"message":"Workflow was started"}');
		});
	});
	await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
	const { port } = receiver.address() as { port: number };
	return {
		url: `http://127.0.0.1:${port}`,
		received,
		close: () => new Promise<void>((resolve) => receiver.close(() => resolve())),
	};
}

/** The item a Wait node set to "On Webhook Call" outputs for a POST: like the Webhook node's. */
const waitNodeItem = (call: Received) => ({
	json: { headers: call.headers, params: {}, query: {}, body: call.body },
});

let receiver: Awaited<ReturnType<typeof startReceiver>>;
beforeAll(async () => {
	receiver = await startReceiver();
});
beforeEach(() => {
	receiver.received.length = 0;
});
afterAll(async () => {
	await receiver.close();
});

describe('the example wires the pattern', () => {
	it('submits without waiting, with the resume URL as webhook, into a Wait node resumed by a POST', () => {
		expect(SUBMIT.type).toBe('n8n-nodes-flux-kontext.fluxKontext');
		expect(SUBMIT.parameters).toMatchObject({
			resource: 'image',
			waitForCompletion: false,
			options: { webhookUrl: '={{ $execution.resumeUrl }}' },
		});
		expect(WAIT.type).toBe('n8n-nodes-base.wait');
		expect(WAIT.parameters).toMatchObject({ resume: 'webhook', httpMethod: 'POST' });
		expect(GET_RESULT.parameters).toMatchObject({ resource: 'request', operation: 'getResult' });
	});
});

describe('hand-off with webhook = {{ $execution.resumeUrl }}', () => {
	it("sends fal this execution's resume URL as fal_webhook and outputs the queue handle at once", async () => {
		const { fal } = server;
		fal.options.timing = () => ({ queueMs: 5_000, runMs: 100 });
		const run = await runWorkflow({
			parameters: SUBMIT.parameters,
			credentials: credentialsFor(fal),
			nodeName: SUBMIT.name,
		});
		expect(run.error).toBeUndefined();
		const [submit] = requestsOf(fal, 'submit');
		expect(submit.path).toBe('/fal-ai/flux-pro/kontext/max');
		expect(submit.query.fal_webhook).toMatch(
			/^http:\/\/127\.0\.0\.1:5678\/webhook-waiting\/\d+(\?signature=[^&]+)?$/,
		);
		// The webhook is a query parameter of the submit, never part of the model input.
		expect(submit.body).toEqual({
			prompt: SUBMIT.parameters.prompt,
			image_url: SUBMIT.parameters.imageUrl,
		});
		const [handle] = run.output(SUBMIT.name);
		expect(Object.keys(handle.json).sort()).toEqual([
			'cancel_url',
			'queue_position',
			'request_id',
			'response_url',
			'status',
			'status_url',
		]);
		expect(handle.json.status).toBe('IN_QUEUE');
		expect(fal.jobs.get(handle.json.request_id)?.webhookUrl).toBe(submit.query.fal_webhook);
		expect(requestsOf(fal, 'status')).toHaveLength(0);
		expect(requestsOf(fal, 'result')).toHaveLength(0);
	});

	it('the resume URL is the one of the running execution', async () => {
		const { fal } = server;
		fal.options.timing = () => ({ queueMs: 5_000, runMs: 100 });
		const run = await runWorkflow({
			parameters: { ...SUBMIT.parameters, prompt: '={{ "execution " + $execution.id }}' },
			credentials: credentialsFor(fal),
		});
		expect(run.error).toBeUndefined();
		const [submit] = requestsOf(fal, 'submit');
		const executionId = /^execution (\d+)$/.exec((submit.body as { prompt: string }).prompt)?.[1];
		expect(executionId).toBeDefined();
		const webhook = new URL(submit.query.fal_webhook);
		expect(`${webhook.origin}${webhook.pathname}`).toBe(
			`http://127.0.0.1:5678/webhook-waiting/${executionId}`,
		);
		expect([...webhook.searchParams.keys()].every((key) => key === 'signature')).toBe(true);
	});

	it('a signed resume URL (n8n adds ?signature=... to it) reaches fal whole, query included', async () => {
		const { fal } = server;
		fal.options.timing = () => ({ queueMs: 5_000, runMs: 100 });
		const signed = 'http://127.0.0.1:5678/webhook-waiting/7?signature=0f3a9c&x=a%2Fb';
		const run = await runWorkflow({
			parameters: { ...SUBMIT.parameters, options: { webhookUrl: signed } },
			credentials: credentialsFor(fal),
		});
		expect(run.error).toBeUndefined();
		const [submit] = requestsOf(fal, 'submit');
		expect(submit.query.fal_webhook).toBe(signed);
		expect(Object.keys(submit.query)).toEqual(['fal_webhook']);
	});
});

describe('what fal POSTs to the webhook, and Get Result from it', () => {
	it('a finished job: status OK with the request id and the images; Get Result on its request_id gives the finished output', async () => {
		const { fal } = server;
		const webhookUrl = `${receiver.url}/webhook-waiting/42`;
		const run = await runWorkflow({
			parameters: { ...SUBMIT.parameters, options: { webhookUrl } },
			credentials: credentialsFor(fal),
		});
		expect(run.error).toBeUndefined();
		const [handle] = run.output();
		await fal.webhooksSettled();

		expect(fal.webhooks).toEqual([expect.objectContaining({ url: webhookUrl, status: 200 })]);
		expect(receiver.received).toHaveLength(1);
		const [call] = receiver.received;
		expect(call.method).toBe('POST');
		expect(call.url).toBe('/webhook-waiting/42');
		expect(call.headers['content-type']).toBe('application/json');
		expect(call.headers['x-fal-webhook-request-id']).toBe(handle.json.request_id);
		expect(call.body).toEqual({
			request_id: handle.json.request_id,
			gateway_request_id: expect.any(String),
			status: 'OK',
			payload: {
				images: [
					{
						url: expect.stringMatching(new RegExp(`^${fal.cdnUrl}/`)),
						width: expect.any(Number),
						height: expect.any(Number),
						content_type: 'image/jpeg',
					},
				],
				seed: expect.any(Number),
				has_nsfw_concepts: [false],
				prompt: SUBMIT.parameters.prompt,
				timings: expect.any(Object),
			},
		});
		// Nothing but the submit: no worker followed the job.
		expect(fal.requests.map((r) => r.kind)).toEqual(['submit']);

		// The Wait node resumes with the POST as its item; Get Result reads $json.body.request_id.
		const result = await runWorkflow({
			parameters: GET_RESULT.parameters,
			credentials: credentialsFor(fal),
			items: [waitNodeItem(call)],
			nodeName: GET_RESULT.name,
		});
		expect(result.error).toBeUndefined();
		const [item] = result.output(GET_RESULT.name);
		expect(item.pairedItem).toEqual({ item: 0 });
		expect(item.json.request_id).toBe(handle.json.request_id);
		expect(item.json.images).toEqual(call.body.payload.images);
		expect(item.json.seed).toBe(call.body.payload.seed);
		expect(item.binary?.data.mimeType).toBe('image/jpeg');
		expect(isJpeg(item.binary!.data.data)).toBe(true);
		expect(requestsOf(fal, 'result')).toHaveLength(1);
	});

	it("when the Wait node's time limit runs out it passes the handle on, and Get Result uses its request_id", async () => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters: { ...SUBMIT.parameters, options: {} },
			credentials: credentialsFor(fal),
		});
		const [handle] = run.output();
		await new Promise((resolve) => setTimeout(resolve, 300));
		const result = await runWorkflow({
			parameters: GET_RESULT.parameters,
			credentials: credentialsFor(fal),
			items: [{ json: handle.json }],
		});
		expect(result.error).toBeUndefined();
		expect(result.output()[0].json.request_id).toBe(handle.json.request_id);
		expect(isJpeg(result.output()[0].binary!.data.data)).toBe(true);
	});

	it("a job that fails on fal's side: status ERROR with fal's status code and the error body as payload", async () => {
		const { fal } = server;
		// The node checks every input before submitting, so no input it sends fails fal's validation: the
		// failure is injected into the fake's next job (runner_disconnected, result 503).
		fal.failNextJobs(1);
		const run = await runWorkflow({
			parameters: { ...SUBMIT.parameters, options: { webhookUrl: receiver.url } },
			credentials: credentialsFor(fal),
		});
		const [handle] = run.output();
		await fal.webhooksSettled();
		expect(receiver.received).toHaveLength(1);
		expect(receiver.received[0].body).toEqual({
			request_id: handle.json.request_id,
			gateway_request_id: expect.any(String),
			status: 'ERROR',
			error: 'Invalid status code: 503',
			payload: { detail: 'Runner disconnected', error_type: 'runner_disconnected' },
		});
		// What the node makes of that delivery: the example's Get Result fails the item with fal's reason,
		// keeps the request_id, and asks once (a stored failure is not retried); no image, no second job.
		const call = receiver.received[0];
		const result = await runWorkflow({
			parameters: GET_RESULT.parameters,
			credentials: credentialsFor(fal),
			items: [waitNodeItem(call)],
			continueOnFail: true,
		});
		const [item] = result.output();
		expect(item.json.error).toBe(
			'The job failed on fal: Runner disconnected (runner_disconnected)',
		);
		expect(item.json.request_id).toBe(handle.json.request_id);
		expect(item.binary).toBeUndefined();
		expect(requestsOf(fal, 'result')).toHaveLength(1);
		expect(requestsOf(fal, 'submit')).toHaveLength(1);
	});

	it('a rejected job: status ERROR, "Invalid status code: 422"; Get Result from it fails the item with fal\'s reason and keeps the request_id', async () => {
		const { fal } = server;
		fal.failNextJobs(1, {
			status: 422,
			error: 'Could not download the image',
			error_type: 'file_download_error',
		});
		const run = await runWorkflow({
			parameters: { ...SUBMIT.parameters, options: { webhookUrl: receiver.url } },
			credentials: credentialsFor(fal),
		});
		const [handle] = run.output();
		await fal.webhooksSettled();
		const [call] = receiver.received;
		expect(call.body).toEqual({
			request_id: handle.json.request_id,
			gateway_request_id: expect.any(String),
			status: 'ERROR',
			error: 'Invalid status code: 422',
			payload: { detail: 'Could not download the image', error_type: 'file_download_error' },
		});

		const result = await runWorkflow({
			parameters: GET_RESULT.parameters,
			credentials: credentialsFor(fal),
			items: [waitNodeItem(call)],
			continueOnFail: true,
		});
		const [item] = result.output();
		expect(item.json.error).toBe('fal rejected the input (422): Could not download the image');
		expect(item.json.request_id).toBe(handle.json.request_id);
		expect(item.binary).toBeUndefined();
		// Without Continue On Fail the workflow stops there, naming the request.
		const failed = await runWorkflow({
			parameters: GET_RESULT.parameters,
			credentials: credentialsFor(fal),
			items: [waitNodeItem(call)],
		});
		expect(failed.error?.message).toBe(
			'fal rejected the input (422): Could not download the image',
		);
		expect(failed.error?.description).toContain(handle.json.request_id);
	});
});
