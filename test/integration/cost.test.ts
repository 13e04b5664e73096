/**
 * Issue 12: cost before you spend (estimate, Max Cost) and fal's request controls (start deadline, payload
 * storage, media expiry, priority), run in n8n-core's WorkflowExecute from the built dist/ against the fake fal.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

import { runWorkflow } from '../support/engine';
import type { FakeFal } from '../support/fake-fal';
import {
	credentialsFor,
	editParams,
	eventually,
	requestsOf,
	textToImageParams,
	useFakeFal,
} from './setup';

const server = useFakeFal();

const MAX_T2I = 'fal-ai/flux-pro/kontext/max/text-to-image';
const PRO_T2I = 'fal-ai/flux-pro/kontext/text-to-image';
const HEADER_NAMES = [
	'x-fal-request-timeout',
	'x-fal-store-io',
	'x-fal-object-lifecycle-preference',
	'x-fal-queue-priority',
];

/** Credentials whose Platform URL is the fake's own Platform API origin (fal's api.fal.ai stands apart from its queue). */
const withPlatform = (fal: FakeFal, extra: Record<string, unknown> = {}) =>
	credentialsFor(fal, { platformUrl: fal.platformUrl, ...extra });

const items = (n: number) => Array.from({ length: n }, (_, i) => ({ json: { n: i } }));

describe('cost estimate', () => {
	it("reads the price from fal's pricing API once per execution and puts cost_estimate on every finished item", async () => {
		const { fal } = server;
		// An account price that differs from the published one: the estimate must be the API's.
		fal.options.prices = { ...fal.options.prices, [MAX_T2I]: 0.075 };
		const run = await runWorkflow({
			parameters: textToImageParams({
				model: '={{ $json.n === 1 ? "pro" : "max" }}',
				options: { numImages: 2 },
			}),
			credentials: withPlatform(fal),
			items: items(3),
		});
		expect(run.error).toBeUndefined();
		expect(fal.platformRequests).toHaveLength(1);
		const [pricing] = fal.platformRequests;
		expect(pricing.path).toBe('/v1/models/pricing');
		expect(pricing.query.endpoint_id.split(',').sort()).toEqual([PRO_T2I, MAX_T2I].sort());
		expect(pricing.headers.authorization).toBe('Key test-token');
		// Asked before anything was submitted.
		expect(pricing.at).toBeLessThan(Math.min(...requestsOf(fal, 'submit').map((r) => r.at)));
		expect(run.output().map((item) => item.json.cost_estimate)).toEqual([
			{ amount: 0.15, currency: 'USD', unit_price: 0.075, images: 2, source: 'fal-pricing-api' },
			{ amount: 0.08, currency: 'USD', unit_price: 0.04, images: 2, source: 'fal-pricing-api' },
			{ amount: 0.15, currency: 'USD', unit_price: 0.075, images: 2, source: 'fal-pricing-api' },
		]);
	});

	it('puts cost_estimate on handed-off items too', async () => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters: editParams({ waitForCompletion: false }),
			credentials: withPlatform(fal),
		});
		expect(run.error).toBeUndefined();
		const [item] = run.output();
		expect(item.json.status).toBe('IN_QUEUE');
		expect(item.json.cost_estimate).toEqual({
			amount: 0.04,
			currency: 'USD',
			unit_price: 0.04,
			images: 1,
			source: 'fal-pricing-api',
		});
	});

	it("uses the credential's Price per Image for a gateway, without asking any pricing API", async () => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters: textToImageParams({ options: { numImages: 3 } }),
			credentials: credentialsFor(fal, { pricePerImage: 0.05 }),
		});
		expect(run.error).toBeUndefined();
		expect(run.output()[0].json.cost_estimate).toEqual({
			amount: 0.15,
			currency: 'USD',
			unit_price: 0.05,
			images: 3,
			source: 'credential',
		});
		expect(fal.platformRequests).toHaveLength(0);
	});

	it("falls back to Price per Image when fal's pricing API refuses the key, without retrying it", async () => {
		const { fal } = server;
		fal.inject({ kind: 'pricing', status: 403, body: { detail: 'Admin API key required' } });
		const run = await runWorkflow({
			parameters: textToImageParams(),
			credentials: withPlatform(fal, { pricePerImage: 0.05 }),
		});
		expect(run.error).toBeUndefined();
		expect(run.output()[0].json.cost_estimate).toMatchObject({
			unit_price: 0.05,
			source: 'credential',
		});
		expect(fal.platformRequests).toHaveLength(1);
	});

	it('asks the pricing API once, without retries, when it fails (503, connection reset): the estimate falls back at once', async () => {
		const { fal } = server;
		fal.inject({ kind: 'pricing', status: 503, times: 1 });
		fal.inject({ kind: 'pricing', reset: true, times: 1 });
		for (let run = 0; run < 2; run++) {
			const result = await runWorkflow({
				parameters: textToImageParams(),
				credentials: withPlatform(fal, { pricePerImage: 0.05 }),
			});
			expect(result.error).toBeUndefined();
			expect(result.output()[0].json.cost_estimate).toMatchObject({ source: 'credential' });
		}
		expect(fal.platformRequests).toHaveLength(2);
	});

	it("Stop while fal's pricing API does not answer ends the run at once, submitting nothing", async () => {
		const { fal } = server;
		fal.inject({ kind: 'pricing', hang: true });
		const started = Date.now();
		const run = await runWorkflow({
			parameters: textToImageParams(),
			credentials: withPlatform(fal),
			items: items(3),
			cancelAfterMs: 300,
		});
		// The pricing request's own deadline is 10 s: ending long before it shows that Stop ended it.
		expect(Date.now() - started).toBeLessThan(3000);
		expect(run.status).toBe('canceled');
		expect(fal.platformRequests).toHaveLength(1);
		expect(fal.requests).toHaveLength(0);
	});

	it('outputs no cost_estimate when no price is known, and runs as before', async () => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters: textToImageParams(),
			credentials: credentialsFor(fal),
		});
		expect(run.error).toBeUndefined();
		expect(run.output()[0].json).not.toHaveProperty('cost_estimate');
		expect(run.output()[0].json.images).toHaveLength(1);
	});
});

describe('Max Cost', () => {
	/** Three items of Text to Image at $0.04 per image (the credential's price), with Max Cost $0.40. */
	const threeItems = (fal: FakeFal, numImages: number, extra: { continueOnFail?: boolean } = {}) =>
		runWorkflow({
			parameters: textToImageParams({ options: { numImages, maxCost: 0.4 } }),
			credentials: credentialsFor(fal, { pricePerImage: 0.04 }),
			items: items(3),
			...extra,
		});

	it('refuses a 3-item x 4-image batch over the limit before any request, with the estimate and the limit', async () => {
		const { fal } = server;
		const run = await threeItems(fal, 4);
		expect(run.error?.message).toBe(
			'Max Cost: this run would cost about $0.48, more than the limit of $0.40; nothing was submitted',
		);
		expect(run.error?.description).toMatch(
			/3 item\(s\), 12 image\(s\) at \$0\.04 per image \(from the credential's Price per Image\)/,
		);
		expect(fal.requests).toHaveLength(0);
		expect(fal.platformRequests).toHaveLength(0);
	});

	it("refuses with the price from fal's pricing API too: one price request, no submit", async () => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters: textToImageParams({ model: 'max', options: { numImages: 4, maxCost: 0.9 } }),
			credentials: withPlatform(fal),
			items: items(3),
		});
		expect(run.error?.message).toMatch(/would cost about \$0\.96, more than the limit of \$0\.90/);
		expect(run.error?.description).toMatch(/from fal's pricing API/);
		expect(fal.platformRequests).toHaveLength(1);
		expect(fal.requests).toHaveLength(0);
	});

	it('with Continue On Fail, every item carries the refusal and nothing is submitted', async () => {
		const { fal } = server;
		const run = await threeItems(fal, 4, { continueOnFail: true });
		expect(run.error).toBeUndefined();
		const output = run.output();
		expect(output.map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
		for (const item of output)
			expect(item.json.error).toMatch(/^Max Cost: this run would cost about \$0\.48/);
		expect(fal.requests).toHaveLength(0);
	});

	it('lets a run within the limit go ahead', async () => {
		const { fal } = server;
		const run = await threeItems(fal, 3);
		expect(run.error).toBeUndefined();
		expect(requestsOf(fal, 'submit')).toHaveLength(3);
		expect(run.output().map((item) => item.json.cost_estimate)).toEqual(
			Array(3).fill({
				amount: 0.12,
				currency: 'USD',
				unit_price: 0.04,
				images: 3,
				source: 'credential',
			}),
		);
	});

	it('refuses when no estimate is possible, and says why', async () => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters: textToImageParams({ options: { maxCost: 5 } }),
			credentials: credentialsFor(fal),
		});
		expect(run.error?.message).toBe(
			'Max Cost: the cost of this run cannot be estimated, so nothing was submitted (limit $5.00)',
		);
		expect(run.error?.description).toMatch(
			/the Base URL is not fal's own host and the credential has no Platform URL.*no Price per Image.*Set Price per Image in the credential/,
		);
		expect(fal.requests).toHaveLength(0);
	});

	it("refuses when fal's pricing API refuses and the credential has no price, naming the answer", async () => {
		const { fal } = server;
		fal.inject({ kind: 'pricing', status: 401, body: { detail: 'Invalid key' } });
		const run = await runWorkflow({
			parameters: textToImageParams({ options: { maxCost: 5 } }),
			credentials: withPlatform(fal),
		});
		expect(run.error?.message).toMatch(/cannot be estimated/);
		expect(run.error?.description).toMatch(
			/fal's pricing API answered 401 \(Invalid key\); reading prices may need an Admin API key/,
		);
		expect(fal.requests).toHaveLength(0);
	});

	it('does not count an item whose own input is invalid (it fails without submitting)', async () => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters: textToImageParams({
				options: { numImages: '={{ $json.n === 1 ? 9 : 4 }}', maxCost: 0.35 },
			}),
			credentials: credentialsFor(fal, { pricePerImage: 0.04 }),
			items: items(2),
			continueOnFail: true,
		});
		const [ok, bad] = run.output();
		expect(ok.json.cost_estimate).toMatchObject({ amount: 0.16 });
		expect(bad.json.error).toMatch(/Number of Images: 9 is out of range/);
		expect(requestsOf(fal, 'submit')).toHaveLength(1);
	});
});

/**
 * A stand-in for the internet: an HTTPS proxy (set as HTTPS_PROXY, which n8n's request helper honours) that
 * records where each tunnel was asked to go and refuses it. The fake fal is plain http on 127.0.0.1, so it is
 * reached directly.
 */
async function withInternetSentinel(body: (tunnels: string[]) => Promise<void>): Promise<void> {
	const tunnels: string[] = [];
	const proxy = http.createServer((_req, res) => res.writeHead(403).end());
	proxy.on('connect', (req: http.IncomingMessage, socket) => {
		tunnels.push(String(req.url));
		socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n');
	});
	await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
	const saved = process.env.HTTPS_PROXY;
	process.env.HTTPS_PROXY = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
	try {
		await body(tunnels);
	} finally {
		if (saved === undefined) delete process.env.HTTPS_PROXY;
		else process.env.HTTPS_PROXY = saved;
		await new Promise<void>((resolve) => proxy.close(() => resolve()));
	}
}

describe('where the token goes for prices', () => {
	it("a gateway Base URL never calls fal's pricing API (nor anything else outside the gateway)", async () => {
		const { fal } = server;
		await withInternetSentinel(async (tunnels) => {
			const run = await runWorkflow({
				parameters: textToImageParams({ options: { maxCost: 1 } }),
				credentials: credentialsFor(fal, { pricePerImage: 0.04 }),
			});
			expect(run.error).toBeUndefined();
			expect(tunnels).toEqual([]);
		});
		expect(fal.platformRequests).toHaveLength(0);
		expect(requestsOf(fal, 'submit')).toHaveLength(1);
	});

	it("fal's own Base URL asks https://api.fal.ai by default (and nothing is submitted when Max Cost cannot be checked)", async () => {
		const { fal } = server;
		await withInternetSentinel(async (tunnels) => {
			const run = await runWorkflow({
				parameters: textToImageParams({ options: { maxCost: 1 } }),
				credentials: credentialsFor(fal, { baseUrl: 'https://queue.fal.run' }),
			});
			expect(tunnels).toEqual(['api.fal.ai:443']);
			expect(run.error?.message).toMatch(/cannot be estimated/);
			// The sentinel's refusal of the tunnel is what n8n's request helper reports as the answer.
			expect(run.error?.description).toMatch(/fal's pricing API answered 403/);
		});
	});
});

describe("fal's request headers", () => {
	it('sends none of them when their options are unset', async () => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters: editParams({ options: { storePayloads: true } }),
			credentials: credentialsFor(fal),
		});
		expect(run.error).toBeUndefined();
		const [submit] = requestsOf(fal, 'submit');
		for (const name of HEADER_NAMES) expect(submit.headers).not.toHaveProperty(name);
	});

	it.each([
		[{ startTimeout: 30 }, 'x-fal-request-timeout', '30'],
		[{ startTimeout: 2.5 }, 'x-fal-request-timeout', '2.5'],
		[{ storePayloads: false }, 'x-fal-store-io', '0'],
		[
			{ mediaExpiry: 600 },
			'x-fal-object-lifecycle-preference',
			'{"expiration_duration_seconds":600}',
		],
		[{ priority: 'low' }, 'x-fal-queue-priority', 'low'],
		[{ priority: 'normal' }, 'x-fal-queue-priority', 'normal'],
	])('%j sends %s: %s, and no other of them, on the submit only', async (options, name, value) => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters: textToImageParams({ options }),
			credentials: credentialsFor(fal),
		});
		expect(run.error).toBeUndefined();
		const [submit] = requestsOf(fal, 'submit');
		expect(submit.headers[name]).toBe(value);
		for (const other of HEADER_NAMES.filter((n) => n !== name))
			expect(submit.headers).not.toHaveProperty(other);
		for (const request of fal.requests.filter((r) => r.kind !== 'submit'))
			expect(request.headers).not.toHaveProperty(name);
	});

	it.each([
		[{ startTimeout: 1 }, 'Start Timeout: 1 is too short'],
		[{ mediaExpiry: 1.5 }, 'Media Expiry: 1.5 is not a whole number'],
		[{ priority: 'urgent' }, 'Queue Priority: "urgent" is not allowed'],
	])('refuses %j before any request', async (options, message) => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters: textToImageParams({ options }),
			credentials: credentialsFor(fal),
		});
		expect(run.error?.message).toBe(message);
		expect(fal.requests).toHaveLength(0);
	});

	it('a job that fal drops at its start deadline is reported as not started in time, not billed, and not retried', async () => {
		const { fal } = server;
		fal.options.timing = () => ({ queueMs: 30_000, runMs: 50 });
		const started = Date.now();
		const run = await runWorkflow({
			parameters: textToImageParams({ options: { startTimeout: 1.2 } }),
			credentials: credentialsFor(fal),
		});
		const id = [...fal.jobs.keys()][0];
		expect(run.error?.message).toBe(
			'The job was not started in time, not billed (504): Request timed out before it started',
		);
		expect(run.error?.description).toMatch(/did not start within Start Timeout.*Request id: /);
		expect(run.error?.description).toContain(id);
		expect(requestsOf(fal, 'result')).toHaveLength(1);
		expect(Date.now() - started).toBeLessThan(15_000);
	});

	it('Get Result of such a job says the same', async () => {
		const { fal } = server;
		fal.options.timing = () => ({ queueMs: 30_000, runMs: 50 });
		const handoff = await runWorkflow({
			parameters: textToImageParams({ waitForCompletion: false, options: { startTimeout: 1.1 } }),
			credentials: credentialsFor(fal),
		});
		const id = handoff.output()[0].json.request_id as string;
		await eventually(() => fal.jobs.get(id)?.state === 'EXPIRED', 10_000);
		const run = await runWorkflow({
			parameters: { resource: 'request', operation: 'getResult', requestId: id },
			credentials: credentialsFor(fal),
		});
		expect(run.error?.message).toMatch(/^The job was not started in time, not billed \(504\)/);
	});
});
