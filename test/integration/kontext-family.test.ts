/**
 * Issue 16: Kontext [dev], LoRA edit and text to image, and LoRA inpainting with a reference image,
 * through n8n-core's engine from dist/, against the fake fal (which validates each endpoint's
 * schema as fal does: a wrong field is a 422 here).
 */
import { makePng } from '../support/fake-fal';
import type { FakeFal } from '../support/fake-fal';
import { DEFAULT_NODE_TYPE, loadPackage, runWorkflow } from '../support/engine';
import {
	credentialsFor,
	editParams,
	isPng,
	requestsOf,
	textToImageParams,
	useFakeFal,
} from './setup';

const server = useFakeFal();

const withStorage = (fal: FakeFal) => credentialsFor(fal, { storageUrl: fal.storageUrl });
const withPlatform = (fal: FakeFal, extra: Record<string, unknown> = {}) =>
	credentialsFor(fal, { platformUrl: fal.platformUrl, ...extra });

const IMAGE = 'https://example.com/room.png';
const MASK = 'https://example.com/room-mask.png';
const REFERENCE = 'https://example.com/lamp.png';

const inpaintParams = (overrides: Record<string, unknown> = {}) => ({
	resource: 'image',
	operation: 'inpaint',
	model: 'lora',
	prompt: 'Put the lamp on the side table',
	imageSource: 'url',
	imageUrl: IMAGE,
	maskSource: 'url',
	maskUrl: MASK,
	referenceSource: 'url',
	referenceImageUrl: REFERENCE,
	...overrides,
});

const TWO_LORAS = {
	lora: [
		{ path: 'https://example.com/loras/brand.safetensors', scale: 0.8, force: false },
		{ path: 'owner/watercolor-kontext', scale: 1.5, force: true },
	],
};
const TWO_LORAS_SENT = [
	{ path: 'https://example.com/loras/brand.safetensors', scale: 0.8 },
	{ path: 'owner/watercolor-kontext', scale: 1.5, force: true },
];

/** Every [dev] field set to a value other than fal's default. */
const DEV_OPTIONS = {
	acceleration: 'high',
	enableSafetyChecker: false,
	guidanceScale: 4.5,
	numImages: 2,
	numInferenceSteps: 40,
	outputFormat: 'png',
	seed: 1234,
	syncMode: false,
};
const DEV_SENT = {
	acceleration: 'high',
	enable_safety_checker: false,
	guidance_scale: 4.5,
	num_images: 2,
	num_inference_steps: 40,
	output_format: 'png',
	seed: 1234,
	sync_mode: false,
};

async function run(parameters: Record<string, unknown>, fal: FakeFal, extra = {}) {
	return await runWorkflow({ parameters, credentials: credentialsFor(fal), ...extra });
}

describe('every option set: the exact path and body', () => {
	it('Edit with [dev]', async () => {
		const { fal } = server;
		const result = await run(
			editParams({ model: 'dev', options: { ...DEV_OPTIONS, resolutionMode: '16:9' } }),
			fal,
		);
		expect(result.error).toBeUndefined();
		const [submit] = requestsOf(fal, 'submit');
		expect(submit.path).toBe('/fal-ai/flux-kontext/dev');
		expect(submit.body).toEqual({
			prompt: 'Put a donut next to the flour',
			image_url: 'https://example.com/kitchen.png',
			...DEV_SENT,
			resolution_mode: '16:9',
		});
		const items = result.output();
		expect(items[0].json.images).toHaveLength(2);
		// The status and result live on the app id, without the sub-path.
		expect(requestsOf(fal, 'result')[0].path).toMatch(/^\/fal-ai\/flux-kontext\/requests\//);
	});

	it('Edit with LoRAs: a list of two, merged in order', async () => {
		const { fal } = server;
		const result = await run(
			editParams({
				model: 'lora',
				options: { ...DEV_OPTIONS, resolutionMode: 'auto', loras: TWO_LORAS },
			}),
			fal,
		);
		expect(result.error).toBeUndefined();
		const [submit] = requestsOf(fal, 'submit');
		expect(submit.path).toBe('/fal-ai/flux-kontext-lora');
		expect(submit.body).toEqual({
			prompt: 'Put a donut next to the flour',
			image_url: 'https://example.com/kitchen.png',
			...DEV_SENT,
			resolution_mode: 'auto',
			loras: TWO_LORAS_SENT,
		});
	});

	it('Text to Image with LoRAs, a custom image size', async () => {
		const { fal } = server;
		const result = await run(
			textToImageParams({
				model: 'lora',
				options: {
					...DEV_OPTIONS,
					imageSize: 'custom',
					imageWidth: 1280,
					imageHeight: 720,
					loras: TWO_LORAS,
				},
			}),
			fal,
		);
		expect(result.error).toBeUndefined();
		const [submit] = requestsOf(fal, 'submit');
		expect(submit.path).toBe('/fal-ai/flux-kontext-lora/text-to-image');
		expect(submit.body).toEqual({
			prompt: 'A lighthouse at dawn, oil painting',
			...DEV_SENT,
			image_size: { width: 1280, height: 720 },
			loras: TWO_LORAS_SENT,
		});
	});

	it('Inpaint', async () => {
		const { fal } = server;
		const result = await run(
			inpaintParams({ options: { ...DEV_OPTIONS, strength: 0.6, loras: TWO_LORAS } }),
			fal,
		);
		expect(result.error).toBeUndefined();
		const [submit] = requestsOf(fal, 'submit');
		expect(submit.path).toBe('/fal-ai/flux-kontext-lora/inpaint');
		expect(submit.body).toEqual({
			prompt: 'Put the lamp on the side table',
			image_url: IMAGE,
			mask_url: MASK,
			reference_image_url: REFERENCE,
			...DEV_SENT,
			strength: 0.6,
			loras: TWO_LORAS_SENT,
		});
		expect(requestsOf(fal, 'result')[0].path).toMatch(/^\/fal-ai\/flux-kontext-lora\/requests\//);
	});
});

describe('no option set: nothing but the prompt and the images', () => {
	it.each([
		['Edit [dev]', editParams({ model: 'dev' }), '/fal-ai/flux-kontext/dev'],
		['Edit LoRA', editParams({ model: 'lora' }), '/fal-ai/flux-kontext-lora'],
		[
			'Text to Image LoRA',
			textToImageParams({ model: 'lora' }),
			'/fal-ai/flux-kontext-lora/text-to-image',
		],
		['Inpaint', inpaintParams(), '/fal-ai/flux-kontext-lora/inpaint'],
	])('%s', async (_name, parameters, path) => {
		const { fal } = server;
		const result = await run(parameters, fal);
		expect(result.error).toBeUndefined();
		const [submit] = requestsOf(fal, 'submit');
		expect(submit.path).toBe(path);
		const { prompt, ...rest } = submit.body as Record<string, unknown>;
		expect(typeof prompt).toBe('string');
		expect(Object.keys(rest).every((key) => key.endsWith('_url'))).toBe(true);
	});

	it("LoRA endpoints answer in fal's default format, PNG, and the node stores it as such", async () => {
		const { fal } = server;
		const result = await run(editParams({ model: 'lora' }), fal);
		expect(result.error).toBeUndefined();
		const image = result.output()[0].binary?.data;
		expect(image?.mimeType).toBe('image/png');
		expect(isPng(image!.data)).toBe(true);
	});
});

describe('fields of another model are never sent', () => {
	it('[pro] options left in a workflow whose model became LoRA do not reach fal', async () => {
		const { fal } = server;
		const result = await run(
			editParams({
				model: 'lora',
				options: {
					safetyTolerance: '5',
					aspectRatio: '16:9',
					enhancePrompt: true,
					imageSize: 'square_hd',
					strength: 0.5,
					guidanceScale: 3,
				},
			}),
			fal,
		);
		expect(result.error).toBeUndefined();
		expect(requestsOf(fal, 'submit')[0].body).toEqual({
			prompt: 'Put a donut next to the flour',
			image_url: 'https://example.com/kitchen.png',
			guidance_scale: 3,
		});
	});

	it('[dev] options left in a workflow whose model became Pro do not reach fal', async () => {
		const { fal } = server;
		const result = await run(
			editParams({
				model: 'pro',
				options: {
					acceleration: 'high',
					numInferenceSteps: 12,
					loras: TWO_LORAS,
					resolutionMode: 'auto',
					enableSafetyChecker: false,
				},
			}),
			fal,
		);
		expect(result.error).toBeUndefined();
		expect(requestsOf(fal, 'submit')[0]).toMatchObject({
			path: '/fal-ai/flux-pro/kontext',
			body: {
				prompt: 'Put a donut next to the flour',
				image_url: 'https://example.com/kitchen.png',
			},
		});
		expect(Object.keys(requestsOf(fal, 'submit')[0].body as object)).toHaveLength(2);
	});

	it('Resolution Mode is not sent to Inpaint, which does not take it', async () => {
		const { fal } = server;
		const result = await run(inpaintParams({ options: { resolutionMode: 'auto' } }), fal);
		expect(result.error).toBeUndefined();
		expect(requestsOf(fal, 'submit')[0].body).not.toHaveProperty('resolution_mode');
	});
});

describe('refused before any request', () => {
	it.each([
		[
			'steps out of range (expression)',
			editParams({ model: 'dev', options: { numInferenceSteps: '={{ 51 }}' } }),
			'Number of Inference Steps: 51 is out of range',
		],
		[
			'strength out of range',
			inpaintParams({ options: { strength: 0 } }),
			'Strength: 0 is out of range',
		],
		[
			'a LoRA scale out of range',
			editParams({ model: 'lora', options: { loras: { lora: [{ path: 'a/b', scale: 5 }] } } }),
			'LoRA 1 Scale: 5 is out of range',
		],
		[
			'a LoRA without a path',
			editParams({ model: 'lora', options: { loras: { lora: [{ path: ' ', scale: 1 }] } } }),
			'LoRA 1 Path: is empty',
		],
		[
			'an image side out of range',
			textToImageParams({ model: 'lora', options: { imageSize: 'custom', imageWidth: 20000 } }),
			'Image Width: 20000 is out of range',
		],
		[
			'an unknown acceleration',
			editParams({ model: 'dev', options: { acceleration: '={{ "turbo" }}' } }),
			'Acceleration: "turbo" is not allowed',
		],
		[
			'Text to Image with [dev]',
			textToImageParams({ model: 'dev' }),
			'Model: Dev has no Text to Image endpoint at fal',
		],
		[
			'Inpaint with [pro]',
			inpaintParams({ model: 'pro' }),
			'Model: Pro has no Inpaint endpoint at fal',
		],
		[
			'two images with [dev]',
			editParams({ model: 'dev', imageUrl: 'https://a.example/1.png\nhttps://a.example/2.png' }),
			'Image URL: 2 images given, but FLUX.1 Kontext [dev] edits one image',
		],
		[
			'two images with LoRA',
			editParams({ model: 'lora', imageUrl: 'https://a.example/1.png, https://a.example/2.png' }),
			'Image URL: 2 images given, but FLUX.1 Kontext [dev] with LoRAs edits one image',
		],
		[
			'a blank mask URL from an expression',
			inpaintParams({ maskUrl: '={{ " " }}' }),
			'Mask URL: is empty',
		],
	])('%s', async (_name, parameters, message) => {
		const { fal } = server;
		const result = await run(parameters, fal);
		expect(result.error?.message).toBe(message);
		expect(fal.requests).toHaveLength(0);
	});

	it('a mask that is not an image, with no upload of the image before it', async () => {
		const { fal } = server;
		const result = await runWorkflow({
			parameters: inpaintParams({ imageSource: 'binary', maskSource: 'binary' }),
			credentials: withStorage(fal),
			items: [
				{
					binary: {
						data: { data: makePng(8, 8), mimeType: 'image/png', fileName: 'room.png' },
						mask: {
							data: Buffer.from('not a mask at all'),
							mimeType: 'image/png',
							fileName: 'm.png',
						},
					},
				},
			],
		});
		expect(result.error?.message).toBe(
			'Mask Binary Field: "mask" is not an image (image/png, m.png)',
		);
		expect(fal.requests).toHaveLength(0);
		expect(fal.storageRequests).toHaveLength(0);
	});
});

describe('Inpaint inputs', () => {
	it('from three binary fields, each uploaded to storage, in its own place', async () => {
		const { fal } = server;
		const image = makePng(16, 16);
		const mask = makePng(16, 15);
		const reference = makePng(9, 9);
		const result = await runWorkflow({
			parameters: inpaintParams({
				imageSource: 'binary',
				maskSource: 'binary',
				referenceSource: 'binary',
				referenceBinaryPropertyName: 'lamp',
			}),
			credentials: withStorage(fal),
			items: [
				{
					binary: {
						data: { data: image, mimeType: 'image/png', fileName: 'room.png' },
						mask: { data: mask, mimeType: 'image/png', fileName: 'mask.png' },
						lamp: { data: reference, mimeType: 'image/png', fileName: 'lamp.png' },
					},
				},
			],
		});
		expect(result.error).toBeUndefined();
		expect(requestsOf(fal, 'submit')).toHaveLength(1);
		const body = requestsOf(fal, 'submit')[0].body as Record<string, string>;
		const [job] = [...fal.jobs.values()];
		expect(job.inputImages.map((i) => [i.url, i.source])).toEqual([
			[body.image_url, 'uploaded'],
			[body.mask_url, 'uploaded'],
			[body.reference_image_url, 'uploaded'],
		]);
		expect(job.inputImages.map((i) => i.bytes)).toEqual([image, mask, reference]);
		expect(result.output()[0].json.images).toHaveLength(1);
	});

	it('from three binary fields inline as data URLs when the credential has no storage', async () => {
		const { fal } = server;
		const png = makePng(4, 4);
		const result = await runWorkflow({
			parameters: inpaintParams({
				imageSource: 'binary',
				maskSource: 'binary',
				referenceSource: 'binary',
			}),
			credentials: credentialsFor(fal),
			items: [
				{
					binary: {
						data: { data: png, mimeType: 'image/png' },
						mask: { data: png, mimeType: 'image/png' },
						reference: { data: png, mimeType: 'image/png' },
					},
				},
			],
		});
		expect(result.error).toBeUndefined();
		const body = requestsOf(fal, 'submit')[0].body as Record<string, string>;
		const dataUrl = `data:image/png;base64,${png.toString('base64')}`;
		expect([body.image_url, body.mask_url, body.reference_image_url]).toEqual([
			dataUrl,
			dataUrl,
			dataUrl,
		]);
	});

	it('from three URLs, sent as given', async () => {
		const { fal } = server;
		const result = await run(inpaintParams(), fal);
		expect(result.error).toBeUndefined();
		expect(requestsOf(fal, 'submit')[0].body).toMatchObject({
			image_url: IMAGE,
			mask_url: MASK,
			reference_image_url: REFERENCE,
		});
		expect(fal.storageRequests).toHaveLength(0);
	});
});

describe('per-megapixel cost and Max Cost', () => {
	it('LoRA Text to Image: the estimate from the image size, per megapixel', async () => {
		const { fal } = server;
		const result = await runWorkflow({
			parameters: textToImageParams({
				model: 'lora',
				options: { imageSize: 'square_hd', numImages: 2 },
			}),
			credentials: withPlatform(fal),
		});
		expect(result.error).toBeUndefined();
		expect(fal.platformRequests[0].query.endpoint_id).toBe(
			'fal-ai/flux-kontext-lora/text-to-image',
		);
		expect(result.output()[0].json.cost_estimate).toEqual({
			amount: 0.0734, // 2 x 1.048576 MP x $0.035
			currency: 'USD',
			unit_price: 0.035,
			images: 2,
			source: 'fal-pricing-api',
			unit: 'megapixel',
			megapixels: 1.048576,
		});
	});

	it("fal's default image size (landscape 4:3, 1024 x 768) when none is set", async () => {
		const { fal } = server;
		const result = await runWorkflow({
			parameters: textToImageParams({ model: 'lora' }),
			credentials: withPlatform(fal),
		});
		expect(result.output()[0].json.cost_estimate).toMatchObject({
			amount: 0.027525,
			megapixels: 0.786432,
		});
	});

	it('LoRA Edit and Inpaint: 1 megapixel assumed, and said', async () => {
		const { fal } = server;
		const edit = await runWorkflow({
			parameters: editParams({ model: 'lora' }),
			credentials: withPlatform(fal),
		});
		expect(edit.output()[0].json.cost_estimate).toEqual({
			amount: 0.035,
			currency: 'USD',
			unit_price: 0.035,
			images: 1,
			source: 'fal-pricing-api',
			unit: 'megapixel',
			megapixels: 1,
			assumed: expect.stringMatching(
				/^1 megapixel per image: the output takes the input image's size \(Resolution Mode Match Input\)/,
			),
		});
		const inpaint = await runWorkflow({
			parameters: inpaintParams(),
			credentials: withPlatform(fal),
		});
		expect(inpaint.output()[0].json.cost_estimate).toMatchObject({
			amount: 0.035,
			assumed: expect.stringContaining("the input image's size"),
		});
	});

	it('[dev]: per image, from the pricing API', async () => {
		const { fal } = server;
		const result = await runWorkflow({
			parameters: editParams({ model: 'dev', options: { numImages: 3 } }),
			credentials: withPlatform(fal),
		});
		expect(result.output()[0].json.cost_estimate).toEqual({
			amount: 0.075,
			currency: 'USD',
			unit_price: 0.025,
			images: 3,
			source: 'fal-pricing-api',
		});
	});

	it('Max Cost refuses a per-megapixel run over budget, saying the unit, before any submit', async () => {
		const { fal } = server;
		const result = await runWorkflow({
			parameters: textToImageParams({
				model: 'lora',
				options: {
					imageSize: 'custom',
					imageWidth: 2048,
					imageHeight: 2048,
					numImages: 4,
					maxCost: 0.5,
				},
			}),
			credentials: withPlatform(fal),
		});
		// 4 x 4.194304 MP x $0.035 = $0.587
		expect(result.error?.message).toBe(
			'Max Cost: this run would cost about $0.587203, more than the limit of $0.50; nothing was submitted',
		);
		expect(String((result.error as { description?: string }).description)).toContain(
			'$0.035 per megapixel',
		);
		expect(requestsOf(fal, 'submit')).toHaveLength(0);
	});

	it('Max Cost admits the same run under a budget that covers it', async () => {
		const { fal } = server;
		const result = await runWorkflow({
			parameters: editParams({ model: 'lora', options: { maxCost: 0.04 } }),
			credentials: withPlatform(fal),
		});
		expect(result.error).toBeUndefined();
		expect(requestsOf(fal, 'submit')).toHaveLength(1);
	});
});

describe('hand-off and the Request resource on the new apps', () => {
	it("a handed-off LoRA job's URLs are on fal-ai/flux-kontext-lora; Get Result with model LoRA fetches it", async () => {
		const { fal } = server;
		const handoff = await run(inpaintParams({ waitForCompletion: false }), fal);
		expect(handoff.error).toBeUndefined();
		const [handle] = handoff.output();
		const id = handle.json.request_id as string;
		expect(handle.json.status_url).toBe(
			`${fal.url}/fal-ai/flux-kontext-lora/requests/${id}/status`,
		);

		const byModel = await run(
			{
				resource: 'request',
				operation: 'getResult',
				requestId: id,
				model: 'lora',
				options: { downloadImages: false },
			},
			fal,
		);
		expect(byModel.error).toBeUndefined();
		expect(byModel.output()[0].json.images).toHaveLength(1);

		const byUrl = await run(
			{ resource: 'request', operation: 'getStatus', requestId: handle.json.status_url },
			fal,
		);
		expect(byUrl.error).toBeUndefined();
		expect(requestsOf(fal, 'status').at(-1)!.path).toBe(
			`/fal-ai/flux-kontext-lora/requests/${id}/status`,
		);
	});

	it('Get Status with the default model asks the [pro] app, where a LoRA job is not found', async () => {
		const { fal } = server;
		const handoff = await run(editParams({ model: 'dev', waitForCompletion: false }), fal);
		const id = handoff.output()[0].json.request_id as string;
		const dev = await run(
			{ resource: 'request', operation: 'getStatus', requestId: id, model: 'dev' },
			fal,
		);
		expect(dev.error).toBeUndefined();
		expect(requestsOf(fal, 'status').at(-1)!.path).toBe(
			`/fal-ai/flux-kontext/requests/${id}/status`,
		);
		const pro = await run({ resource: 'request', operation: 'getStatus', requestId: id }, fal);
		expect(pro.error).toBeDefined();
		expect(requestsOf(fal, 'status').at(-1)!.path).toBe(`/fal-ai/flux-pro/requests/${id}/status`);
	});
});

describe('as an AI Agent tool', () => {
	const TOOL_TYPE = `${DEFAULT_NODE_TYPE}Tool`;
	beforeAll(async () => {
		const pkg = await loadPackage();
		pkg.nodeTypes[TOOL_TYPE] = pkg.nodeTypes[DEFAULT_NODE_TYPE];
	});
	const tool = textToImageParams({
		model: "={{ $fromAI('model', 'pro, max or lora', 'string', 'pro') }}",
		prompt: "={{ $fromAI('prompt', 'The image to create', 'string') }}",
		options: { downloadImages: false },
	});

	it('the agent picks the model through $fromAI: lora goes to the LoRA endpoint', async () => {
		const { fal } = server;
		const result = await runWorkflow({
			parameters: tool,
			credentials: credentialsFor(fal),
			items: [{ json: { model: 'lora', prompt: 'A brand mascot' } }],
			nodeType: TOOL_TYPE,
		});
		expect(result.error).toBeUndefined();
		expect(requestsOf(fal, 'submit')[0]).toMatchObject({
			path: '/fal-ai/flux-kontext-lora/text-to-image',
			body: { prompt: 'A brand mascot' },
		});
	});

	it('a model the operation does not serve fails with what to use instead, before any request', async () => {
		const { fal } = server;
		const result = await runWorkflow({
			parameters: tool,
			credentials: credentialsFor(fal),
			items: [{ json: { model: 'dev', prompt: 'A brand mascot' } }],
			nodeType: TOOL_TYPE,
		});
		expect(result.error?.message).toBe('Model: Dev has no Text to Image endpoint at fal');
		expect((result.error as { description?: string }).description).toContain('Use Pro, Max, LoRA');
		expect(fal.requests).toHaveLength(0);
	});
});
