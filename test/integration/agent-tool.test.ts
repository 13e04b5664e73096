/**
 * The node as an AI Agent tool. n8n registers a `usableAsTool` node a second time under `<type>Tool` and, when
 * the agent calls the tool, runs that node with the tool call's arguments as its input item, where `$fromAI()`
 * reads them. Here the loaded node type is registered under the Tool name too, and the tool node of
 * examples/agent-with-image-tool.json runs with an input item as the agent would send it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { DEFAULT_NODE_TYPE, loadPackage, REPO_ROOT, runWorkflow } from '../support/engine';
import { credentialsFor, isJpeg, requestsOf, textToImageParams, useFakeFal } from './setup';

const TOOL_TYPE = `${DEFAULT_NODE_TYPE}Tool`;
const server = useFakeFal();

const example = JSON.parse(
	fs.readFileSync(path.join(REPO_ROOT, 'examples', 'agent-with-image-tool.json'), 'utf8'),
) as {
	nodes: Array<{ name: string; type: string; parameters: Record<string, unknown> }>;
};
const toolNode = example.nodes.find((node) => node.type === TOOL_TYPE);

beforeAll(async () => {
	// runWorkflow builds its node types from this (cached) package on every run: the alias applies to all runs below.
	const pkg = await loadPackage();
	pkg.nodeTypes[TOOL_TYPE] = pkg.nodeTypes[DEFAULT_NODE_TYPE];
});

describe('as an AI Agent tool', () => {
	it("the example's tool node fills prompt and aspect ratio from the tool call and answers with compact JSON: URLs and sizes, no binary", async () => {
		const { fal } = server;
		expect(toolNode).toBeDefined();
		const call = {
			prompt: 'A red fox in fresh snow at dawn, telephoto, soft golden light',
			aspect_ratio: '16:9',
		};
		const run = await runWorkflow({
			parameters: toolNode!.parameters,
			credentials: credentialsFor(fal),
			items: [{ json: call }],
			nodeType: TOOL_TYPE,
			nodeName: toolNode!.name,
		});
		expect(run.error).toBeUndefined();
		const [submit] = requestsOf(fal, 'submit');
		expect(submit.path).toBe('/fal-ai/flux-pro/kontext/text-to-image');
		expect(submit.body).toEqual({ prompt: call.prompt, aspect_ratio: '16:9' });

		const output = run.output(toolNode!.name);
		expect(output).toHaveLength(1);
		const [item] = output;
		expect(item.binary).toBeUndefined();
		expect(item.json).toEqual({
			request_id: [...fal.jobs.keys()][0],
			prompt: call.prompt,
			seed: expect.any(Number),
			images: [
				{
					url: expect.stringMatching(new RegExp(`^${fal.cdnUrl}/files/`)),
					width: expect.any(Number),
					height: expect.any(Number),
					content_type: 'image/jpeg',
				},
			],
			has_nsfw_concepts: [false],
		});
		// Nothing was downloaded: the agent gets the URL, not the bytes.
		expect(fal.cdnRequests).toHaveLength(0);
	});

	it('an aspect ratio the model leaves out falls back to the $fromAI default', async () => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters: toolNode!.parameters,
			credentials: credentialsFor(fal),
			items: [{ json: { prompt: 'A lighthouse' } }],
			nodeType: TOOL_TYPE,
		});
		expect(run.error).toBeUndefined();
		expect(requestsOf(fal, 'submit')[0].body).toEqual({
			prompt: 'A lighthouse',
			aspect_ratio: '1:1',
		});
	});

	it("with Sync Mode and several images it still puts no data URI into the agent's context", async () => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters: textToImageParams({
				options: { syncMode: true, numImages: 2, outputFormat: 'png' },
			}),
			credentials: credentialsFor(fal),
			nodeType: TOOL_TYPE,
		});
		expect(run.error).toBeUndefined();
		const [item] = run.output();
		expect(item.binary).toBeUndefined();
		expect(item.json.images).toHaveLength(2);
		for (const image of item.json.images) {
			expect(image).toEqual({
				url: expect.any(String),
				width: expect.any(Number),
				height: expect.any(Number),
				content_type: 'image/png',
			});
			expect(image.url.startsWith('data:')).toBe(false);
		}
		expect(JSON.stringify(item.json)).not.toMatch(/base64/);
	});

	it('the same parameters under the regular type still output the full result with binary images', async () => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters: textToImageParams(),
			credentials: credentialsFor(fal),
		});
		const [item] = run.output();
		const [job] = fal.jobs.values();
		expect(item.json.timings).toEqual({ inference: job.runMs / 1000 });
		expect(item.binary?.data.mimeType).toBe('image/jpeg');
		expect(isJpeg(item.binary!.data.data)).toBe(true);
	});
});
