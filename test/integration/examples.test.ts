/**
 * The workflows in examples/ are documentation people import into n8n: each must be a valid workflow export,
 * use only parameters our node really has (and shows) for the chosen resource and operation, and actually work.
 * The ones that need no outside service run here, up to and including our node, against the fake fal server.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { INode, INodeParameters, INodeProperties, INodeTypeDescription } from 'n8n-workflow';
import { deepCopy, NodeHelpers } from 'n8n-workflow';

// Where Read/Write File may write in n8n 2.x by default (`~/.n8n-files`) as n8n's Docker image has it; the e2e
// run gives n8n exactly this folder, so the examples run there as shipped.
import { N8N_FILES_FOLDER } from '../../scripts/e2e/lib/n8n';
import { nodeDescription, REPO_ROOT, runWorkflow } from '../support/engine';
import { startTriggerWorkflow } from '../support/webhook-engine';
import { credentialsFor, isPng, requestsOf, useFakeFal } from './setup';

const EXAMPLES_DIR = path.join(REPO_ROOT, 'examples');
const OUR_TYPE = 'n8n-nodes-flux-kontext.fluxKontext';
const OUR_TOOL_TYPE = `${OUR_TYPE}Tool`;
const OUR_TRIGGER_TYPE = 'n8n-nodes-flux-kontext.fluxKontextTrigger';
const CREDENTIAL_TYPE = 'fluxKontextApi';

/** n8n core node types the examples may use (besides ours). */
const CORE_TYPES = new Set([
	'n8n-nodes-base.stickyNote',
	'n8n-nodes-base.manualTrigger',
	'n8n-nodes-base.scheduleTrigger',
	'n8n-nodes-base.set',
	'n8n-nodes-base.splitOut',
	'n8n-nodes-base.readWriteFile',
	'n8n-nodes-base.readBinaryFiles',
	'n8n-nodes-base.googleSheets',
	'n8n-nodes-base.wait',
	'n8n-nodes-base.httpRequest',
	'n8n-nodes-base.respondToWebhook',
	'@n8n/n8n-nodes-langchain.chatTrigger',
	'@n8n/n8n-nodes-langchain.agent',
	'@n8n/n8n-nodes-langchain.lmChatOpenAi',
]);

/** Environment variables n8n 2.x replaced (it logs the new name at start): old name → new name. */
const REPLACED_ENV_VARS: Record<string, string> = { WEBHOOK_URL: 'N8N_WEBHOOK_URL' };

/** Connection types n8n uses between these nodes. */
const CONNECTION_TYPES = new Set(['main', 'ai_languageModel', 'ai_tool']);

interface ExampleNode {
	id: string;
	name: string;
	type: string;
	typeVersion: number;
	position: [number, number];
	parameters: Record<string, unknown>;
	credentials?: Record<string, { id: string; name: string }>;
	webhookId?: string;
}

interface Example {
	file: string;
	name: string;
	nodes: ExampleNode[];
	connections: Record<
		string,
		Record<string, Array<Array<{ node: string; type: string; index: number }>>>
	>;
	settings?: { executionOrder?: string };
}

const files = fs
	.readdirSync(EXAMPLES_DIR)
	.filter((file) => file.endsWith('.json'))
	.sort();

function load(file: string): Example {
	return {
		file,
		...(JSON.parse(fs.readFileSync(path.join(EXAMPLES_DIR, file), 'utf8')) as Omit<
			Example,
			'file'
		>),
	};
}

function nodeOf(example: Example, predicate: (node: ExampleNode) => boolean): ExampleNode {
	const node = example.nodes.find(predicate);
	if (!node) throw new Error(`${example.file}: no such node`);
	return node;
}

const ours = (node: ExampleNode) =>
	node.type === OUR_TYPE || node.type === OUR_TOOL_TYPE || node.type === OUR_TRIGGER_TYPE;

/**
 * The description n8n gives the Tool variant of a `usableAsTool` node: n8n's `convertNodeToAiTool`
 * (packages/cli, n8n 2.x) renames it, makes its output `ai_tool` and adds "Tool Description"
 * (`descriptionType` auto/manual, and `toolDescription`, shown when manual) before the node's own properties.
 */
function toolVariant(description: INodeTypeDescription): INodeTypeDescription {
	const tool = deepCopy(description);
	tool.name += 'Tool';
	tool.displayName += ' Tool';
	tool.inputs = [];
	tool.outputs = ['ai_tool'];
	delete tool.usableAsTool;
	tool.properties = [
		{
			displayName: 'Tool Description',
			name: 'descriptionType',
			type: 'options',
			noDataExpression: true,
			options: [
				{ name: 'Set Automatically', value: 'auto' },
				{ name: 'Set Manually', value: 'manual' },
			],
			default: 'auto',
		},
		{
			displayName: 'Description',
			name: 'toolDescription',
			type: 'string',
			default: description.description,
			required: true,
			displayOptions: { show: { descriptionType: ['manual'] } },
		},
		...tool.properties,
	];
	return tool;
}

const isExpression = (value: unknown) => typeof value === 'string' && value.startsWith('=');

/** Problems with one value against its property: type, allowed options, range. Expressions pass (checked at run time). */
function valueProblems(property: INodeProperties, value: unknown, where: string): string[] {
	if (isExpression(value))
		return property.noDataExpression ? [`${where} does not accept an expression`] : [];
	switch (property.type) {
		case 'options': {
			const allowed = (property.options ?? []).map(
				(option) => (option as { value: unknown }).value,
			);
			return allowed.includes(value as string)
				? []
				: [`${where} = ${JSON.stringify(value)} is not one of ${JSON.stringify(allowed)}`];
		}
		case 'boolean':
			return typeof value === 'boolean' ? [] : [`${where} must be true or false`];
		case 'number': {
			if (typeof value !== 'number') return [`${where} must be a number`];
			const { minValue, maxValue } = property.typeOptions ?? {};
			if (typeof minValue === 'number' && value < minValue)
				return [`${where} = ${value} is below ${minValue}`];
			if (typeof maxValue === 'number' && value > maxValue)
				return [`${where} = ${value} is above ${maxValue}`];
			return [];
		}
		case 'string':
			return typeof value === 'string' ? [] : [`${where} must be text`];
		case 'collection':
			return value && typeof value === 'object' && !Array.isArray(value)
				? []
				: [`${where} must be an object`];
		default:
			return [];
	}
}

/**
 * Every parameter of one of our nodes in an example: it exists in the description, is shown for the chosen
 * resource/operation/source (a hidden parameter is silently dropped by n8n, so the example would not do what
 * it says), and holds an allowed value; the same for every key inside `options`.
 */
function parameterProblems(node: ExampleNode, description: INodeTypeDescription): string[] {
	const problems: string[] = [];
	const asNode = node as unknown as INode;
	const values =
		NodeHelpers.getNodeParameters(
			description.properties,
			node.parameters as INodeParameters,
			true,
			false,
			asNode,
			description,
		) ?? {};
	for (const [name, value] of Object.entries(node.parameters)) {
		const candidates = description.properties.filter((property) => property.name === name);
		if (candidates.length === 0) {
			problems.push(`"${name}" is not a parameter of ${description.name}`);
			continue;
		}
		const shown = candidates.filter((property) =>
			NodeHelpers.displayParameter(values, property, asNode, description),
		);
		if (shown.length === 0) {
			problems.push(
				`"${name}" is not shown for ${JSON.stringify({ resource: values.resource, operation: values.operation })}`,
			);
			continue;
		}
		const [property] = shown;
		problems.push(...valueProblems(property, value, name));
		if (property.type === 'collection' && value && typeof value === 'object') {
			const collection = value as INodeParameters;
			for (const [key, inner] of Object.entries(collection)) {
				const options = ((property.options ?? []) as INodeProperties[]).filter(
					(option) => option.name === key,
				);
				const visible = options.filter((option) =>
					NodeHelpers.displayParameter(collection, option, asNode, description, values),
				);
				if (options.length === 0) problems.push(`"${name}.${key}" is not an option of ${name}`);
				else if (visible.length === 0)
					problems.push(`"${name}.${key}" is not shown for operation ${String(values.operation)}`);
				else problems.push(...valueProblems(visible[0], inner, `${name}.${key}`));
			}
		}
	}
	// n8n checks required parameters on the parameters with their defaults filled in, as the editor stores them.
	const issues = NodeHelpers.getNodeParametersIssues(
		description.properties,
		{ ...asNode, parameters: values },
		description,
	);
	if (issues)
		problems.push(`n8n reports parameter issues: ${JSON.stringify(issues.parameters ?? issues)}`);
	return problems;
}

let description: INodeTypeDescription;
let triggerDescription: INodeTypeDescription;
beforeAll(async () => {
	description = await nodeDescription();
	triggerDescription = await nodeDescription(OUR_TRIGGER_TYPE);
});

describe.each(files)('examples/%s', (file) => {
	const example = load(file);

	it('is an importable n8n workflow: named, unique node names and ids, positions, v1 execution order', () => {
		expect(typeof example.name).toBe('string');
		expect(example.name.length).toBeGreaterThan(0);
		expect(Array.isArray(example.nodes)).toBe(true);
		expect(example.settings?.executionOrder).toBe('v1');
		const names = example.nodes.map((node) => node.name);
		const ids = example.nodes.map((node) => node.id);
		expect(new Set(names).size).toBe(names.length);
		expect(new Set(ids).size).toBe(ids.length);
		for (const node of example.nodes) {
			expect(node.id).toMatch(
				/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
			);
			expect(typeof node.type).toBe('string');
			expect(typeof node.typeVersion).toBe('number');
			expect(node.position).toEqual([expect.any(Number), expect.any(Number)]);
			expect(node.parameters).toEqual(expect.any(Object));
		}
	});

	it('uses only real n8n core node types and ours, and explains itself in a sticky note', () => {
		for (const node of example.nodes) {
			expect(CORE_TYPES.has(node.type) || ours(node)).toBe(true);
		}
		const notes = example.nodes.filter((node) => node.type === 'n8n-nodes-base.stickyNote');
		expect(notes.length).toBeGreaterThanOrEqual(1);
		for (const note of notes) expect(String(note.parameters.content).length).toBeGreaterThan(200);
		expect(example.nodes.some(ours)).toBe(true);
		// A Wait, Chat Trigger or FLUX Kontext Trigger node needs its own webhook id to be callable.
		for (const node of example.nodes.filter(
			(n) =>
				n.type === 'n8n-nodes-base.wait' ||
				n.type.endsWith('.chatTrigger') ||
				n.type === OUR_TRIGGER_TYPE,
		)) {
			expect(node.webhookId).toMatch(/^[0-9a-f-]{36}$/);
		}
	});

	it('connects only nodes that exist, and every working node is connected', () => {
		const names = new Set(example.nodes.map((node) => node.name));
		const connected = new Set<string>();
		for (const [source, byType] of Object.entries(example.connections)) {
			expect(names.has(source)).toBe(true);
			connected.add(source);
			for (const [type, outputs] of Object.entries(byType)) {
				expect(CONNECTION_TYPES.has(type)).toBe(true);
				for (const targets of outputs) {
					for (const target of targets) {
						expect(names.has(target.node)).toBe(true);
						expect(target.type).toBe(type);
						expect(target.index).toBe(0);
						connected.add(target.node);
					}
				}
			}
		}
		for (const node of example.nodes) {
			if (node.type !== 'n8n-nodes-base.stickyNote') expect(connected.has(node.name)).toBe(true);
		}
	});

	it('references credentials by name only, ours as fluxKontextApi', () => {
		for (const node of example.nodes) {
			for (const reference of Object.values(node.credentials ?? {})) {
				expect(reference.id).toBe('');
				expect(reference.name.length).toBeGreaterThan(0);
			}
			if (ours(node)) expect(Object.keys(node.credentials ?? {})).toEqual([CREDENTIAL_TYPE]);
		}
		expect(JSON.stringify(example)).not.toMatch(
			/apiKey|Bearer |Key [A-Za-z0-9]{8}|sk-[A-Za-z0-9]{8}/,
		);
	});

	it("writes files only straight into n8n's files folder, which exists (Read/Write File creates no folders)", () => {
		for (const node of example.nodes.filter(
			(n) => n.type === 'n8n-nodes-base.readWriteFile' && n.parameters.operation === 'write',
		)) {
			const fileName = String(node.parameters.fileName).replace(/^=/, '');
			// The folder part is literal (no expression), and it is the files folder itself, not a sub-folder.
			expect(path.posix.dirname(fileName)).toBe(N8N_FILES_FOLDER);
		}
	});

	it('names no environment variable that n8n 2.x has replaced', () => {
		const text = JSON.stringify(example);
		for (const [old, current] of Object.entries(REPLACED_ENV_VARS)) {
			expect({ old, found: new RegExp(`(?<![A-Z_])${old}(?![A-Z_])`).test(text), current }).toEqual(
				{ old, found: false, current },
			);
		}
	});

	it('gives our node only parameters it has and shows, with allowed values, in a version it has', () => {
		for (const node of example.nodes.filter(ours)) {
			const described =
				node.type === OUR_TOOL_TYPE
					? toolVariant(description)
					: node.type === OUR_TRIGGER_TYPE
						? triggerDescription
						: description;
			const versions = Array.isArray(described.version) ? described.version : [described.version];
			expect(versions).toContain(node.typeVersion);
			expect({ node: node.name, problems: parameterProblems(node, described) }).toEqual({
				node: node.name,
				problems: [],
			});
		}
	});
});

describe('the parameter check itself', () => {
	const node = (parameters: Record<string, unknown>, type = OUR_TYPE): ExampleNode => ({
		id: '00000000-0000-4000-8000-000000000000',
		name: 'n',
		type,
		typeVersion: 1,
		position: [0, 0],
		parameters,
	});

	it('catches unknown, hidden and misspelt parameters and option values', () => {
		const problems = parameterProblems(
			node({
				resource: 'image',
				operation: 'textToImage',
				prompt: 'x',
				imageUrl: 'https://example.com/a.png',
				modell: 'pro',
				options: { aspectRatio: '5:4', webhook: 'x', downloadImages: 'yes' },
			}),
			description,
		);
		expect(problems).toEqual([
			'"imageUrl" is not shown for {"resource":"image","operation":"textToImage"}',
			'"modell" is not a parameter of fluxKontext',
			expect.stringContaining('options.aspectRatio = "5:4" is not one of'),
			'"options.webhook" is not an option of options',
			'options.downloadImages must be true or false',
		]);
	});

	it('catches an option shown only for another operation, and a missing required parameter', () => {
		expect(
			parameterProblems(
				node({
					resource: 'request',
					operation: 'getStatus',
					requestId: 'x',
					options: { binaryPropertyOutput: 'img' },
				}),
				description,
			),
		).toEqual(['"options.binaryPropertyOutput" is not shown for operation getStatus']);
		expect(
			parameterProblems(node({ resource: 'image', operation: 'edit', prompt: 'x' }), description),
		).toEqual([expect.stringMatching(/parameter issues: .*imageUrl/)]);
	});

	it("knows the Tool variant's description parameters, and only there", () => {
		const params = {
			descriptionType: 'manual',
			toolDescription: 'Draws',
			resource: 'image',
			operation: 'textToImage',
			prompt: 'x',
		};
		expect(parameterProblems(node(params, OUR_TOOL_TYPE), toolVariant(description))).toEqual([]);
		expect(parameterProblems(node(params), description)).toEqual([
			'"descriptionType" is not a parameter of fluxKontext',
			'"toolDescription" is not a parameter of fluxKontext',
		]);
	});
});

// ---------------------------------------------------------------------------------------------
// Running the examples that need no outside service
// ---------------------------------------------------------------------------------------------
const server = useFakeFal();

describe('running the examples against the fake fal', () => {
	it('product-into-scene-inpaint: the Set fields reach the inpaint endpoint as image, mask and reference', async () => {
		const { fal } = server;
		const example = load('product-into-scene-inpaint.json');
		const next = (name: string) => example.connections[name]?.main[0][0]?.node;
		const trigger = nodeOf(example, (node) => node.type === 'n8n-nodes-base.manualTrigger');
		const set = nodeOf(example, (node) => node.name === next(trigger.name));
		const inpaint = nodeOf(example, (node) => node.name === next(set.name));
		expect([set.type, inpaint.type]).toEqual(['n8n-nodes-base.set', OUR_TYPE]);
		// What Set outputs: one item with its string fields.
		const fields = Object.fromEntries(
			(
				set.parameters.assignments as { assignments: Array<{ name: string; value: string }> }
			).assignments.map((a) => [a.name, a.value]),
		);
		const run = await runWorkflow({
			parameters: inpaint.parameters,
			credentials: credentialsFor(fal),
			nodeName: inpaint.name,
			items: [{ json: fields }],
		});
		expect(run.error).toBeUndefined();
		const [submit] = requestsOf(fal, 'submit');
		expect(submit.path).toBe('/fal-ai/flux-kontext-lora/inpaint');
		expect(submit.body).toEqual({
			prompt: inpaint.parameters.prompt,
			image_url: fields.scene_url,
			mask_url: fields.mask_url,
			reference_image_url: fields.product_url,
			strength: 0.9,
			num_inference_steps: 30,
		});
		const [item] = run.output(inpaint.name);
		expect(item.binary?.data.mimeType).toBe('image/png');
		expect(isPng(item.binary!.data.data)).toBe(true);
	});

	it('style-with-lora: the LoRA Edit sends the image and the LoRA, outputs the styled PNG', async () => {
		const { fal } = server;
		const example = load('style-with-lora.json');
		const edit = nodeOf(example, ours);
		const run = await runWorkflow({
			parameters: edit.parameters,
			credentials: credentialsFor(fal),
			nodeName: edit.name,
		});
		expect(run.error).toBeUndefined();
		const [submit] = requestsOf(fal, 'submit');
		expect(submit.path).toBe('/fal-ai/flux-kontext-lora');
		const options = edit.parameters.options as { loras: { lora: Array<{ path: string }> } };
		expect(submit.body).toEqual({
			prompt: edit.parameters.prompt,
			image_url: edit.parameters.imageUrl,
			acceleration: 'regular',
			loras: [{ path: options.loras.lora[0].path, scale: 1.2 }],
		});
		const [item] = run.output(edit.name);
		expect(isPng(item.binary!.data.data)).toBe(true);
	});

	it("edit-image-from-url: submits the example's prompt and URL, outputs the edited image as binary", async () => {
		const { fal } = server;
		const example = load('edit-image-from-url.json');
		const edit = nodeOf(example, ours);
		const run = await runWorkflow({
			parameters: edit.parameters,
			credentials: credentialsFor(fal),
			nodeName: edit.name,
		});
		expect(run.error).toBeUndefined();
		const [submit] = requestsOf(fal, 'submit');
		expect(submit.path).toBe('/fal-ai/flux-pro/kontext');
		expect(submit.body).toEqual({
			prompt: edit.parameters.prompt,
			image_url: edit.parameters.imageUrl,
			output_format: 'png',
		});
		const output = run.output(edit.name);
		expect(output).toHaveLength(1);
		const [item] = output;
		expect(item.pairedItem).toEqual({ item: 0 });
		expect(item.json.request_id).toBe([...fal.jobs.keys()][0]);
		expect(item.json.images).toHaveLength(1);
		expect(item.binary?.data.mimeType).toBe('image/png');
		expect(isPng(item.binary!.data.data)).toBe(true);
	});

	it('batch-restyle-images: the Set + Split Out items all run in parallel, come out in input order, each with its image', async () => {
		const { fal } = server;
		const example = load('batch-restyle-images.json');
		// The chain as the file wires it: trigger → Set → Split Out → our node → write file.
		const next = (name: string) => example.connections[name]?.main[0][0]?.node;
		const trigger = nodeOf(example, (node) => node.type === 'n8n-nodes-base.manualTrigger');
		const set = nodeOf(example, (node) => node.name === next(trigger.name));
		const split = nodeOf(example, (node) => node.name === next(set.name));
		const restyle = nodeOf(example, (node) => node.name === next(split.name));
		const write = nodeOf(example, (node) => node.name === next(restyle.name));
		expect([set.type, split.type, restyle.type, write.type]).toEqual([
			'n8n-nodes-base.set',
			'n8n-nodes-base.splitOut',
			OUR_TYPE,
			'n8n-nodes-base.readWriteFile',
		]);

		// What Set (an array field) and Split Out (one item per element, under destinationFieldName) output.
		const field = split.parameters.fieldToSplitOut as string;
		const assignments = (
			set.parameters.assignments as {
				assignments: Array<{ name: string; value: string; type: string }>;
			}
		).assignments;
		const assignment = assignments.find((a) => a.name === field);
		expect(assignment?.type).toBe('array');
		const urls = JSON.parse(assignment!.value) as string[];
		const destination =
			(split.parameters.options as Record<string, string>).destinationFieldName || field;
		const items = urls.map((url) => ({ json: { [destination]: url } }));
		expect(items.length).toBeGreaterThanOrEqual(3);
		expect(restyle.parameters.imageUrl).toBe(`={{ $json.${destination} }}`);

		// The first image takes longest, so completion order is the reverse of input order.
		fal.options.timing = (input) => ({
			queueMs: 0,
			runMs: 100 + 150 * (urls.length - 1 - urls.indexOf(input.image_url as string)),
		});
		const run = await runWorkflow({
			parameters: restyle.parameters,
			credentials: credentialsFor(fal),
			items,
			nodeName: restyle.name,
		});
		expect(run.error).toBeUndefined();

		const jobs = [...fal.jobs.values()];
		expect(jobs).toHaveLength(urls.length);
		// In parallel: every job was submitted before the first one completed.
		const firstCompletion = Math.min(...jobs.map((job) => job.completedAt ?? Infinity));
		for (const job of jobs) expect(job.submittedAt).toBeLessThan(firstCompletion);
		for (const job of jobs)
			expect(job.input).toEqual({
				prompt: restyle.parameters.prompt,
				image_url: job.input.image_url,
				output_format: 'png',
			});

		const output = run.output(restyle.name);
		expect(output.map((item) => item.pairedItem)).toEqual(urls.map((_, i) => ({ item: i })));
		output.forEach((item, i) => {
			expect(fal.jobs.get(item.json.request_id)?.input.image_url).toBe(urls[i]);
			// What Save to disk reads: $json.request_id and $binary.data.fileExtension.
			expect(item.binary?.data.fileExtension).toBe('png');
			expect(isPng(item.binary!.data.data)).toBe(true);
		});
		expect(write.parameters.fileName).toContain(
			'{{ $json.request_id }}.{{ $binary.data.fileExtension }}',
		);
		expect(write.parameters.dataPropertyName).toBe('data');
	});

	it('scheduled-text-to-image: the dated prompt resolves; two 16:9 PNGs come out as two items, each saved under its own name', async () => {
		const { fal } = server;
		const example = load('scheduled-text-to-image.json');
		const create = nodeOf(example, ours);
		const run = await runWorkflow({
			parameters: create.parameters,
			credentials: credentialsFor(fal),
			nodeName: create.name,
		});
		expect(run.error).toBeUndefined();
		const [submit] = requestsOf(fal, 'submit');
		expect(submit.path).toBe('/fal-ai/flux-pro/kontext/text-to-image');
		const body = submit.body as Record<string, unknown>;
		expect(body.prompt).toMatch(
			/^A watercolor illustration for [A-Z][a-z]+day, \d{1,2} [A-Z][a-z]+: a quiet harbour/,
		);
		expect(body).toMatchObject({ aspect_ratio: '16:9', output_format: 'png', num_images: 2 });
		// Split Into Items: one item per image, each with its image under data, for Save to disk.
		const output = run.output(create.name);
		expect(output.map((item) => item.json.image_index)).toEqual([0, 1]);
		for (const item of output) {
			expect(Object.keys(item.binary ?? {})).toEqual(['data']);
			expect(isPng(item.binary!.data.data)).toBe(true);
			expect(item.pairedItem).toEqual({ item: 0 });
		}
		const write = nodeOf(example, (node) => node.type === 'n8n-nodes-base.readWriteFile');
		expect(write.parameters.dataPropertyName).toBe('data');
		expect(write.parameters.fileName).toMatch(/daily-.*-\{\{ \$json\.image_index \+ 1 \}\}\.png$/);
	});

	it("batch-handoff pair: the submit hands each prompt off with the trigger's URL on the same n8n; the trigger, as shipped, turns each signed delivery into an execution with its image", async () => {
		const { fal } = server;
		const submitExample = load('batch-handoff-submit.json');
		const triggerExample = load('batch-handoff-trigger.json');
		const submit = nodeOf(submitExample, (n) => n.type === OUR_TYPE);
		const set = nodeOf(submitExample, (n) => n.name === 'Prompts');
		const { assignments } = set.parameters.assignments as { assignments: Array<{ value: string }> };
		const prompts = JSON.parse(assignments[0].value) as string[];
		const run = await runWorkflow({
			parameters: submit.parameters,
			credentials: credentialsFor(fal),
			nodeName: submit.name,
			items: prompts.map((prompt) => ({ json: { prompt } })),
		});
		expect(run.error).toBeUndefined();
		expect(run.output(submit.name).map((item) => item.json.status)).toEqual(
			prompts.map(() => 'IN_QUEUE'),
		);
		// The URL the jobs carry is the trigger's production URL on the n8n that ran the submit.
		const trigger = nodeOf(triggerExample, (n) => n.type === OUR_TRIGGER_TYPE);
		const submits = requestsOf(fal, 'submit');
		expect(submits.map((r) => r.query.fal_webhook)).toEqual(
			prompts.map(() => `http://127.0.0.1:5678/webhook/${trigger.webhookId}/webhook`),
		);
		expect(submits.map((r) => (r.body as { prompt: string }).prompt)).toEqual(prompts);
		await fal.webhooksSettled();

		// The trigger with the shipped parameters; only its JWKS URL points at the fake fal's keys.
		const active = await startTriggerWorkflow({
			parameters: {
				...trigger.parameters,
				options: { ...(trigger.parameters.options as object), jwksUrl: fal.jwksUrl },
			},
			credentials: credentialsFor(fal),
		});
		try {
			for (const delivery of fal.webhooks)
				expect((await fal.signer.sendSigned(active.url, delivery.body)).status).toBe(200);
			await active.settled();
			expect(active.executions.map((e) => e.status)).toEqual(prompts.map(() => 'success'));
			for (const execution of active.executions) {
				const [item] = execution.items;
				expect(prompts).toContain(item.json.prompt);
				expect(item.binary?.data.fileExtension).toBe('jpg');
			}
		} finally {
			await active.close();
		}
	});
});
