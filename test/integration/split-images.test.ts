/**
 * Issue 20: Split Into Items (options.splitImages). One output item per image, its binary under
 * Put Output Images In Field, its json the image's entry plus request_id, seed, prompt and
 * image_index, the job's money fields on its first image only, paired with the input item. Run in
 * n8n-core's WorkflowExecute from the built dist/ against the fake fal.
 */
import { runWorkflow } from '../support/engine';
import type { OutputItem, RunResult } from '../support/engine';
import type { FakeFal } from '../support/fake-fal';
import { credentialsFor, editParams, textToImageParams, useFakeFal } from './setup';

const server = useFakeFal();

const items = (prompts: string[]) => prompts.map((prompt) => ({ json: { prompt } }));

/** The bytes the fake's CDN serves at an image URL of a result. */
async function served(url: string): Promise<Buffer> {
	const answer = await fetch(url);
	expect(answer.status).toBe(200);
	return Buffer.from(await answer.arrayBuffer());
}

/** Edit, Text to Image, and Get Result of a job handed off by a Text to Image before it. */
const OPERATIONS: Array<{
	name: string;
	run: (fal: FakeFal, options: Record<string, unknown>) => Promise<RunResult>;
}> = [
	{
		name: 'Edit',
		run: async (fal, options) =>
			await runWorkflow({
				parameters: editParams({ options }),
				credentials: credentialsFor(fal, { pricePerImage: 0.04 }),
			}),
	},
	{
		name: 'Text to Image',
		run: async (fal, options) =>
			await runWorkflow({
				parameters: textToImageParams({ options }),
				credentials: credentialsFor(fal, { pricePerImage: 0.04 }),
			}),
	},
	{
		name: 'Get Result',
		run: async (fal, options) => {
			// The job's fields go to the Text to Image that hands the job off; the output's to Get Result.
			const { numImages, seed, outputFormat, ...output } = options;
			const job = Object.fromEntries(
				Object.entries({ numImages, seed, outputFormat }).filter(([, v]) => v !== undefined),
			);
			const run = await runWorkflow({
				parameters: textToImageParams({ waitForCompletion: false, options: job }),
				credentials: credentialsFor(fal),
				then: [
					{
						name: 'Get Result',
						parameters: { resource: 'request', operation: 'getResult', options: output },
					},
				],
			});
			return { ...run, output: (node = 'Get Result', index) => run.output(node, index) };
		},
	},
];

describe.each(OPERATIONS)('Split Into Items: $name', ({ name, run: runOperation }) => {
	it('4 images become 4 items: each its own image under data, its entry, the job, image_index', async () => {
		const { fal } = server;
		const run = await runOperation(fal, { numImages: 4, splitImages: true });
		expect(run.error).toBeUndefined();
		const output = run.output();
		expect(output).toHaveLength(4);
		const [job] = [...fal.jobs.values()];
		const result = (await (
			await fetch(`${fal.url}/fal-ai/flux-pro/requests/${job.id}`, {
				headers: { authorization: 'Key test-token' },
			})
		).json()) as { images: Array<Record<string, unknown>>; seed: number; prompt: string };
		for (const [index, item] of output.entries()) {
			expect(item.pairedItem).toEqual({ item: 0 });
			expect(item.json).toEqual(
				expect.objectContaining({
					...result.images[index],
					request_id: job.id,
					seed: result.seed,
					prompt: result.prompt,
					image_index: index,
					has_nsfw_concept: false,
				}),
			);
			expect(item.json).not.toHaveProperty('images');
			expect(Object.keys(item.binary ?? {})).toEqual(['data']);
			const image = item.binary!.data;
			expect(image.data.equals(await served(result.images[index].url as string))).toBe(true);
			expect(image.mimeType).toBe('image/jpeg');
			expect(image.fileName).toBe(`flux-kontext-${job.id.slice(0, 8)}-${index + 1}.jpg`);
		}
		// The four images differ, and each item holds its own.
		expect(new Set(output.map((item) => item.binary!.data.data.toString('base64'))).size).toBe(4);
		// The job's money and timings once, on its first image: a sum over items counts the job once.
		if (name !== 'Get Result') {
			expect(output[0].json.cost_estimate).toEqual(
				expect.objectContaining({ amount: 0.16, images: 4 }),
			);
		}
		expect(output[0].json.timings).toBeDefined();
		for (const item of output.slice(1)) {
			expect(item.json).not.toHaveProperty('cost_estimate');
			expect(item.json).not.toHaveProperty('billed_units');
			expect(item.json).not.toHaveProperty('timings');
		}
	});

	it('the same files, names and bytes as the one-item shape (data, data_1, ...)', async () => {
		const { fal } = server;
		const options = { numImages: 3, seed: 7, outputFormat: 'png' };
		const whole = (await runOperation(fal, options)).output();
		expect(whole).toHaveLength(1);
		const split = (await runOperation(fal, { ...options, splitImages: true })).output();
		expect(split).toHaveLength(3);
		const [first, second] = [...fal.jobs.values()].map((job) => job.id.slice(0, 8));
		const wholeFiles = ['data', 'data_1', 'data_2'].map((key) => whole[0].binary![key]);
		for (const [index, item] of split.entries()) {
			const image = item.binary!.data;
			expect(image.fileName).toBe(`flux-kontext-${second}-${index + 1}.png`);
			expect(wholeFiles[index].fileName).toBe(`flux-kontext-${first}-${index + 1}.png`);
			// Same seed, prompt and format: the fake draws the same pictures.
			expect(image.data.equals(wholeFiles[index].data)).toBe(true);
			expect(image.mimeType).toBe('image/png');
		}
	});

	it('Download Images off: one item per image URL, no binary', async () => {
		const { fal } = server;
		const run = await runOperation(fal, { numImages: 2, splitImages: true, downloadImages: false });
		expect(run.error).toBeUndefined();
		const output = run.output();
		expect(output.map((item) => item.json.image_index)).toEqual([0, 1]);
		const [job] = [...fal.jobs.values()];
		for (const [index, item] of output.entries()) {
			expect(item.binary).toBeUndefined();
			expect(item.json.url).toBe(`${fal.cdnUrl}/files/${job.id}/${index}.jpg`);
			expect(item.json.request_id).toBe(job.id);
			expect(item.pairedItem).toEqual({ item: 0 });
		}
		expect(fal.requests.filter((request) => request.kind === 'file')).toHaveLength(0);
	});

	it('Put Output Images In Field names the one binary field of every item', async () => {
		const { fal } = server;
		const run = await runOperation(fal, {
			numImages: 2,
			splitImages: true,
			binaryPropertyOutput: 'picture',
		});
		expect(run.error).toBeUndefined();
		for (const item of run.output()) expect(Object.keys(item.binary ?? {})).toEqual(['picture']);
	});
});

describe('Split Into Items with several input items', () => {
	const split = { numImages: 2, splitImages: true };

	it('two input items of 2 images each become 4 items, in order, paired to their inputs', async () => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters: textToImageParams({ prompt: '={{ $json.prompt }}', options: split }),
			credentials: credentialsFor(fal, { pricePerImage: 0.04 }),
			items: items(['a red kite', 'a blue boat']),
		});
		expect(run.error).toBeUndefined();
		const output = run.output();
		expect(output.map((item) => item.pairedItem)).toEqual([
			{ item: 0 },
			{ item: 0 },
			{ item: 1 },
			{ item: 1 },
		]);
		expect(output.map((item) => [item.json.prompt, item.json.image_index])).toEqual([
			['a red kite', 0],
			['a red kite', 1],
			['a blue boat', 0],
			['a blue boat', 1],
		]);
		const idOf = (prompt: string) =>
			[...fal.jobs.values()].find((job) => job.input.prompt === prompt)!.id;
		expect(output.map((item) => item.json.request_id)).toEqual([
			idOf('a red kite'),
			idOf('a red kite'),
			idOf('a blue boat'),
			idOf('a blue boat'),
		]);
		// One estimate per job, on its first image: the sum over items is the execution's.
		const total = output.reduce(
			(sum: number, item: OutputItem) => sum + (item.json.cost_estimate?.amount ?? 0),
			0,
		);
		expect(total).toBeCloseTo(0.16);
		expect(output.map((item) => item.json.cost_estimate !== undefined)).toEqual([
			true,
			false,
			true,
			false,
		]);
	});

	it('Continue On Fail: a failed job stays one item, with its error and request id, in its place', async () => {
		const { fal } = server;
		fal.options.failure = (input) =>
			input.prompt === 'fails'
				? { error: 'Runner disconnected', error_type: 'runner_disconnected', status: 503 }
				: undefined;
		const run = await runWorkflow({
			parameters: textToImageParams({ prompt: '={{ $json.prompt }}', options: split }),
			credentials: credentialsFor(fal),
			items: items(['first', 'fails', 'last']),
			continueOnFail: true,
		});
		expect(run.error).toBeUndefined();
		const output = run.output();
		expect(output.map((item) => item.pairedItem.item)).toEqual([0, 0, 1, 2, 2]);
		const failed = output[2];
		expect(failed.json.error).toMatch(/Runner disconnected/);
		expect(failed.json.request_id).toBe(
			[...fal.jobs.values()].find((job) => job.input.prompt === 'fails')!.id,
		);
		expect(failed.binary).toBeUndefined();
		expect(output.filter((item) => item.binary?.data)).toHaveLength(4);
	});

	it('a handle (Wait for Completion off) is one item, whatever Split Into Items says', async () => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters: textToImageParams({ waitForCompletion: false, options: split }),
			credentials: credentialsFor(fal),
		});
		expect(run.error).toBeUndefined();
		expect(run.output()).toHaveLength(1);
		expect(run.output()[0].json).toEqual(
			expect.objectContaining({ status: 'IN_QUEUE', request_id: expect.any(String) }),
		);
		expect(fal.jobs.size).toBe(1);
	});
});

describe('Split Into Items: Inpaint (LoRA)', () => {
	it('2 images become 2 items, each its own image, the estimate on the first only', async () => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters: {
				resource: 'image',
				operation: 'inpaint',
				model: 'lora',
				prompt: 'Put the lamp on the side table',
				imageSource: 'url',
				imageUrl: 'https://example.com/room.png',
				maskSource: 'url',
				maskUrl: 'https://example.com/mask.png',
				referenceSource: 'url',
				referenceImageUrl: 'https://example.com/lamp.png',
				options: { numImages: 2, splitImages: true },
			},
			credentials: credentialsFor(fal, { pricePerImage: 0.04 }),
		});
		expect(run.error).toBeUndefined();
		const output = run.output();
		expect(output.map((item) => item.json.image_index)).toEqual([0, 1]);
		const [job] = [...fal.jobs.values()];
		expect(job.endpoint).toBe('fal-ai/flux-kontext-lora/inpaint');
		for (const [index, item] of output.entries()) {
			expect(item.pairedItem).toEqual({ item: 0 });
			expect(item.json.request_id).toBe(job.id);
			expect(Object.keys(item.binary ?? {})).toEqual(['data']);
			expect(item.binary!.data.data.equals(await served(item.json.url))).toBe(true);
			expect(item.binary!.data.fileName).toMatch(
				new RegExp(`^flux-kontext-${job.id.slice(0, 8)}-${index + 1}\\.`),
			);
		}
		expect(output[1].json).not.toHaveProperty('cost_estimate');
	});
});
