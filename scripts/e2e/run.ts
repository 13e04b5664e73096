/**
 * `npm run test:e2e`: the packed package in a real n8n (installed into a cache by install-n8n.sh), in regular
 * mode and in queue mode (Redis + one `n8n worker`), against the project's fake fal server (and a scripted
 * OpenAI chat model for the agent example). Every example runs as shipped; the imported copies only get an
 * id, and the credentials they name point at the fakes. It runs in each n8n version of the list, by default
 * the oldest supported one (LOWEST_SUPPORTED_N8N in helpers/compat.ts) and the newest (NEWEST_N8N): every
 * check in `checks` runs in every version and mode.
 *
 *   node .build/scripts/e2e/run.js [regular|queue ...]     (default: both modes)
 *   N8N_E2E_VERSIONS=1.85.4,2.41.1                         (default: the oldest supported and the newest)
 *
 * One line per check (`ok` or `FAIL`), one `result` line per version and mode, then a closing
 * `N passed, N failed` line (all versions and modes); exit code 1 on a failure.
 * Every process it starts is stopped at the end, on failure and on Ctrl-C. Needs root (mount namespaces) and,
 * for queue mode, Debian's redis-server (installed with apt-get when missing).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

import { FakeFal, VALID_TOKEN } from '../../test/support/fake-fal';
import { NODE_TYPE, PACKAGE_NAME } from '../lib/repo';
import { LOWEST_SUPPORTED_N8N } from '../../nodes/FluxKontext/helpers/compat';
import { FakeOpenAi } from './lib/fake-openai';
import {
	errorOf,
	installN8n,
	NEWEST_N8N,
	outputOf,
	Rest,
	startInstance,
	type Execution,
	type Instance,
	type N8nInstall,
	type OutputItem,
} from './lib/n8n';
import { runToEnd, stopAll, stopAllOnExit, until } from './lib/processes';
import { TRIGGER_TYPE, triggerChecks, withFakeFalKeys } from './lib/trigger-checks';
import {
	e2eCredentials,
	examples,
	nodeOf,
	ours,
	packPackage,
	REPO,
	withId,
	workflowIds,
	type WorkflowFile,
} from './lib/workflows';

const MODES = ['regular', 'queue'] as const;
type Mode = (typeof MODES)[number];

/** Generous bounds for a busy 2-core machine; no check waits on a clock, only on states. */
const RUN_TIMEOUT_MS = 120_000;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const isPng = (data: Buffer) => data.subarray(0, 8).equals(PNG_SIGNATURE);

const triggerOf = (workflow: WorkflowFile) =>
	nodeOf(workflow, (node) => /trigger$/i.test(node.type)).name;
const promptOf = (workflow: WorkflowFile) =>
	String(nodeOf(workflow, (node) => ours(node.type)).parameters.prompt);

/** The e2e's own workflows (not examples): Stop, and a hand-off followed at once by Get Result. */
const STOP_PROMPT = "e2e: a job that stays in fal's queue until the execution is stopped";
const HANDOFF_PROMPT = 'e2e: a job handed off, then fetched at once with Get Result';
function ownWorkflow(
	name: string,
	nodes: Array<{ name: string; parameters: Record<string, unknown> }>,
): WorkflowFile {
	const chain = [
		{ name: 'Start', type: 'n8n-nodes-base.manualTrigger', parameters: {} },
		...nodes.map((node) => ({ ...node, type: NODE_TYPE })),
	];
	return {
		name,
		nodes: chain.map((node, i) => ({
			...node,
			id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
			typeVersion: 1,
			position: [i * 220, 0],
			...(node.type === NODE_TYPE
				? { credentials: { fluxKontextApi: { id: '', name: 'FLUX Kontext account' } } }
				: {}),
		})),
		connections: Object.fromEntries(
			chain
				.slice(0, -1)
				.map((node, i) => [
					node.name,
					{ main: [[{ node: chain[i + 1].name, type: 'main', index: 0 }]] },
				]),
		),
		settings: { executionOrder: 'v1' },
	};
}
const own = {
	stop: ownWorkflow('e2e: Stop cancels the job at fal', [
		{
			name: 'Long job',
			parameters: { resource: 'image', operation: 'textToImage', prompt: STOP_PROMPT },
		},
	]),
	handoffThenGetResult: ownWorkflow('e2e: hand-off, then Get Result at once', [
		{
			name: 'Hand off',
			parameters: {
				resource: 'image',
				operation: 'textToImage',
				prompt: HANDOFF_PROMPT,
				waitForCompletion: false,
			},
		},
		{ name: 'Get Result', parameters: { resource: 'request', operation: 'getResult' } },
	]),
};

/** A log line about this package: its installed files, its name as n8n's loader says it, its node or credential type. */
const ABOUT_THE_PACKAGE = new RegExp(
	`nodes/node_modules/${PACKAGE_NAME}|${PACKAGE_NAME}[.\\s]|fluxKontext`,
);
/** n8n's log lines: `<time> | <level> | <message> <metadata>`; stack traces and raw lines between them. */
const LOG_LINE = /^\S+Z \| (\w+) \| /;
/** n8n 1.x colours its console log even into a file. */
// eslint-disable-next-line no-control-regex
const ANSI_COLOUR = /\x1b\[[0-9;]*m/g;

/** The chat message and the tool call the scripted model makes. */
const CHAT_INPUT = 'a poster of a cat astronaut, 9:16';
const TOOL_ARGUMENTS = {
	prompt: 'A retro travel poster of a cat astronaut floating above the Moon, bold flat colours',
	aspect_ratio: '9:16',
};

// ---------------------------------------------------------------------------------------------

interface Outcome {
	status: 'ok' | 'FAIL';
	name: string;
	detail?: string;
}
const outcomes: Outcome[] = [];

function report(outcome: Outcome): void {
	outcomes.push(outcome);
	console.log(
		`${outcome.status.padEnd(4)} ${outcome.name}${outcome.detail ? ` — ${outcome.detail}` : ''}`,
	);
}

async function check(name: string, body: () => Promise<string | void>): Promise<void> {
	try {
		const detail = await body();
		report({ status: 'ok', name, detail: detail || undefined });
	} catch (error) {
		report({
			status: 'FAIL',
			name,
			detail: (error as Error).message.split('\n').slice(0, 6).join(' | '),
		});
	}
}

function assert(condition: unknown, message: string): asserts condition {
	if (!condition) throw new Error(message);
}

// ---------------------------------------------------------------------------------------------

interface Context {
	n8n: Instance;
	rest: Rest;
	fal: FakeFal;
	openAi: FakeOpenAi;
}

async function runExample(ctx: Context, key: string, triggerData?: unknown): Promise<Execution> {
	const executionId = await ctx.rest.run(
		workflowIds.get(key)!,
		triggerOf(examples[key] ?? own[key as keyof typeof own]),
		triggerData,
	);
	const execution = await ctx.rest.waitFor(executionId, RUN_TIMEOUT_MS);
	assert(
		execution.status === 'success',
		`execution ${executionId} ended ${execution.status}: ${errorOf(execution)}`,
	);
	return execution;
}

/** The image files fal's CDN served for a job, to compare with what n8n kept or wrote. */
async function falImage(url: unknown): Promise<Buffer> {
	const response = await fetch(String(url), { signal: AbortSignal.timeout(30_000) });
	assert(response.ok, `fal's CDN answered ${response.status} for ${String(url)}`);
	return Buffer.from(await response.arrayBuffer());
}

/** The image an output item holds as binary data (read back from n8n) is the one fal made; its size. */
async function holdsFalImage(rest: Rest, item: OutputItem): Promise<number> {
	const entry = item.binary?.data;
	assert(entry, `no binary data in the output: ${JSON.stringify(item.json).slice(0, 200)}`);
	const bytes = await rest.binary(entry);
	const made = await falImage((item.json.images as Array<{ url: string }> | undefined)?.[0]?.url);
	assert(
		bytes.equals(made),
		`the binary (${entry.mimeType}, ${bytes.length} bytes) is not the image fal made (${made.length} bytes)`,
	);
	return bytes.length;
}

/** Runs an example as shipped: our node in it, its first output item and the fal job behind that. */
async function runOurNode(ctx: Context, key: string) {
	const execution = await runExample(ctx, key);
	const node = nodeOf(examples[key], (n) => ours(n.type));
	const [item] = outputOf(execution, node.name);
	return { node, item, job: ctx.fal.jobs.get(String(item.json.request_id)) };
}

/** The item holds fal's image as PNG binary data: its size, as a check's summary. */
async function pngOf(ctx: Context, item: OutputItem): Promise<string> {
	assert(
		item.binary?.data.mimeType === 'image/png',
		`binary: ${JSON.stringify(item.binary?.data)}`,
	);
	return `${await holdsFalImage(ctx.rest, item)} bytes of PNG`;
}

const checks: Array<[string, (ctx: Context) => Promise<string | void>]> = [
	[
		'the package loads: n8n lists the node, its tool variant and the credential',
		async ({ n8n, rest }) => {
			const names = async (file: string) =>
				((await rest.request<Array<{ name: string }>>('GET', `/types/${file}`)).body ?? []).map(
					(type) => type.name,
				);
			const nodes = await names('nodes.json');
			for (const name of [NODE_TYPE, `${NODE_TYPE}Tool`, TRIGGER_TYPE])
				assert(nodes.includes(name), `/types/nodes.json lacks ${name}`);
			assert(
				(await names('credentials.json')).includes('fluxKontextApi'),
				'/types/credentials.json lacks fluxKontextApi',
			);
			const loaded = n8n
				.logs()
				.replace(ANSI_COLOUR, '')
				.split('\n')
				.find((line) => line.includes(`Loaded all credentials and nodes from ${PACKAGE_NAME}`));
			assert(
				loaded && loaded.includes('{"credentials":1,"nodes":2'),
				`n8n's loader did not log loading the package: ${loaded}`,
			);
			return loaded.replace(/^.*\| /, '').replace(/,"file".*/, '}');
		},
	],
	[
		'credential test: a good token passes, a wrong one fails',
		async ({ rest, fal }) => {
			const test = (apiKey: string) =>
				rest.call<{ status: string; message: string }>('POST', '/rest/credentials/test', {
					credentials: {
						id: 'e2eFluxCred00001',
						name: 'FLUX Kontext account',
						type: 'fluxKontextApi',
						data: { apiKey, baseUrl: fal.url, authScheme: 'key' },
					},
				});
			const good = await test(VALID_TOKEN);
			assert(good.status === 'OK', `good token: ${JSON.stringify(good)}`);
			const bad = await test('wrong-token');
			assert(bad.status === 'Error', `wrong token passed: ${JSON.stringify(bad)}`);
			return `wrong token: "${bad.message}"`;
		},
	],
	[
		"edit-image-from-url: the edited image is binary data of the node's output",
		async (ctx) => {
			const { node, item, job } = await runOurNode(ctx, 'edit-image-from-url');
			assert(
				job?.input.image_url === node.parameters.imageUrl,
				`fal got ${JSON.stringify(job?.input)}`,
			);
			return await pngOf(ctx, item);
		},
	],
	[
		'product-into-scene-inpaint: scene, mask and product reach the inpaint endpoint; PNG out',
		async (ctx) => {
			const { item, job } = await runOurNode(ctx, 'product-into-scene-inpaint');
			assert(
				job?.endpoint === 'fal-ai/flux-kontext-lora/inpaint' &&
					[job.input.image_url, job.input.mask_url, job.input.reference_image_url].every(
						(url) => typeof url === 'string' && url.startsWith('https://'),
					),
				`fal got ${job?.endpoint} ${JSON.stringify(job?.input)}`,
			);
			return await pngOf(ctx, item);
		},
	],
	[
		'style-with-lora: the LoRA edit sends its LoRA; PNG out',
		async (ctx) => {
			const { item, job } = await runOurNode(ctx, 'style-with-lora');
			const loras = job?.input.loras as Array<{ path: string; scale: number }> | undefined;
			assert(
				job?.endpoint === 'fal-ai/flux-kontext-lora' &&
					loras?.length === 1 &&
					loras[0].scale === 1.2,
				`fal got ${job?.endpoint} ${JSON.stringify(job?.input)}`,
			);
			return await pngOf(ctx, item);
		},
	],
	[
		"batch-restyle-images: every image restyled and written to n8n's files folder",
		async (ctx) => {
			const example = examples['batch-restyle-images'];
			const execution = await runExample(ctx, 'batch-restyle-images');
			const restyle = nodeOf(example, (n) => ours(n.type));
			const items = outputOf(execution, restyle.name);
			assert(items.length === 3, `${items.length} items`);
			for (const item of items) {
				const file = path.join(ctx.n8n.filesFolder, `restyled-${String(item.json.request_id)}.png`);
				assert(
					fs.existsSync(file),
					`${path.basename(file)} was not written (files: ${fs.readdirSync(ctx.n8n.filesFolder).join(', ')})`,
				);
				const bytes = fs.readFileSync(file);
				assert(
					isPng(bytes) &&
						bytes.equals(await falImage((item.json.images as Array<{ url: string }>)[0].url)),
					`${path.basename(file)} is not fal's image`,
				);
			}
			return `${items.length} files`;
		},
	],
	[
		"scheduled-text-to-image: today's two 16:9 pictures, split into items, written to n8n's files folder",
		async (ctx) => {
			const before = new Set(fs.readdirSync(ctx.n8n.filesFolder));
			const execution = await runExample(ctx, 'scheduled-text-to-image');
			const written = fs
				.readdirSync(ctx.n8n.filesFolder)
				.filter((file) => !before.has(file) || /^daily-/.test(file));
			const daily = written.filter((file) => /^daily-\d{4}-\d{2}-\d{2}-\d\.png$/.test(file)).sort();
			assert(daily.length === 2, `files written: ${written.join(', ') || 'none'}`);
			const items = outputOf(
				execution,
				nodeOf(examples['scheduled-text-to-image'], (n) => ours(n.type)).name,
			);
			assert(items.length === 2, `${items.length} items (Split Into Items: one per image)`);
			assert(
				ctx.fal.jobs.get(String(items[0].json.request_id))?.input.aspect_ratio === '16:9',
				'not 16:9',
			);
			for (const [index, file] of daily.entries()) {
				const bytes = fs.readFileSync(path.join(ctx.n8n.filesFolder, file));
				assert(
					isPng(bytes) && bytes.equals(await falImage(String(items[index].json.url))),
					`${file} is not fal's image ${index + 1}`,
				);
			}
			return daily.join(', ');
		},
	],
	[
		"handoff-webhook-wait: hand-off, fal's webhook resumes the Wait node, Get Result has the image",
		async (ctx) => {
			const example = examples['handoff-webhook-wait'];
			const executionId = await ctx.rest.run(
				workflowIds.get('handoff-webhook-wait')!,
				triggerOf(example),
			);
			const execution = await ctx.rest.waitFor(executionId, RUN_TIMEOUT_MS);
			const delivery = ctx.fal.webhooks[0];
			assert(
				execution.status === 'success',
				`execution ended ${execution.status}: ${errorOf(execution)}; webhook: ${JSON.stringify(delivery)}`,
			);
			assert(
				delivery?.url.startsWith(`${ctx.n8n.url}/webhook-waiting/${executionId}`),
				`webhook went to ${delivery?.url}`,
			);
			const getResult = nodeOf(
				example,
				(n) => ours(n.type) && n.parameters.operation === 'getResult',
			);
			await holdsFalImage(ctx.rest, outputOf(execution, getResult.name)[0]);
			return `resumed by ${delivery.url.replace(/\?.*/, '?…')} (HTTP ${delivery.status})`;
		},
	],
	[
		'agent-with-image-tool: the agent calls the node as a tool and shows the image URL it returned',
		async (ctx) => {
			const example = examples['agent-with-image-tool'];
			const chat = { sessionId: 'e2e-session', action: 'sendMessage', chatInput: CHAT_INPUT };
			const triggerData = {
				startTime: Date.now(),
				executionTime: 0,
				executionIndex: 0,
				executionStatus: 'success',
				source: [null],
				data: { main: [[{ json: chat }]] },
			};
			const execution = await runExample(ctx, 'agent-with-image-tool', triggerData);
			assert(
				ctx.openAi.toolCalls.length === 1,
				`the model made ${ctx.openAi.toolCalls.length} tool calls`,
			);
			const [job] = [...ctx.fal.jobs.values()];
			assert(
				job?.input.prompt === TOOL_ARGUMENTS.prompt &&
					job.input.aspect_ratio === TOOL_ARGUMENTS.aspect_ratio,
				`fal got ${JSON.stringify(job?.input)}`,
			);
			const agent = nodeOf(example, (n) => n.type === '@n8n/n8n-nodes-langchain.agent');
			const answer = String(outputOf(execution, agent.name)[0]?.json.output ?? '');
			assert(
				answer.includes(ctx.fal.cdnUrl),
				`the agent's answer has no fal image URL: ${answer.slice(0, 300)}`,
			);
			return `tool "${ctx.openAi.toolCalls[0].tool}" called, answer: ${answer.split('\n').pop()}`;
		},
	],
	[
		'Stop: stopping the execution cancels the queued job at fal',
		async (ctx) => {
			const executionId = await ctx.rest.run(workflowIds.get('stop')!, 'Start');
			const job = await until(
				'the job to reach fal',
				() => [...ctx.fal.jobs.values()].find((j) => j.input.prompt === STOP_PROMPT),
				60_000,
			);
			// The node is following the job once it asks for its status.
			await until(
				'the node to follow the job',
				() =>
					ctx.fal.requests.some((r) => r.kind === 'stream' || r.kind === 'status')
						? true
						: undefined,
				30_000,
			);
			await ctx.rest.call('POST', `/rest/executions/${executionId}/stop`);
			const execution = await ctx.rest.waitFor(executionId, RUN_TIMEOUT_MS);
			await until(
				'fal to get the cancel',
				() =>
					ctx.fal.requests.some((r) => r.kind === 'cancel' && r.path.includes(job.id))
						? true
						: undefined,
				30_000,
			);
			assert(job.state === 'CANCELLED', `the job is ${job.state}`);
			// A failed execution whose halt cancelled the job is not a Stop.
			assert(execution.status === 'canceled', `the execution is ${execution.status}`);
			return `execution ${execution.status}, job ${job.state}`;
		},
	],
	[
		'hand-off followed at once by Get Result returns the finished result',
		async (ctx) => {
			const execution = await runExample(ctx, 'handoffThenGetResult');
			const [item] = outputOf(execution, 'Get Result');
			const job = ctx.fal.jobs.get(String(item.json.request_id));
			assert(
				job?.input.prompt === HANDOFF_PROMPT && job.completedAt !== undefined,
				`Get Result answered for ${String(item.json.request_id)}`,
			);
			// "At once": Get Result asked about the job while it was still queued or running, then waited.
			const asked = ctx.fal.requests.find(
				(r) =>
					(r.kind === 'status' || r.kind === 'stream' || r.kind === 'result') &&
					r.path.includes(job.id),
			);
			assert(
				asked && asked.at < job.completedAt,
				'Get Result first asked after the job had finished: the check proves nothing',
			);
			return `${await holdsFalImage(ctx.rest, item)} bytes, fetched ${ctx.fal.requests.filter((r) => r.kind === 'result').length} time(s)`;
		},
	],
	...triggerChecks({ runExample, holdsFalImage }),
	[
		"n8n's log has no warning or error about the package",
		async ({ n8n }) => {
			const lines = n8n.logs().replace(ANSI_COLOUR, '').split('\n');
			const level = (line: string) =>
				LOG_LINE.exec(line)?.[1] ?? (/^\s/.test(line) ? 'continued' : 'raw');
			const bad = lines.filter(
				(line) =>
					ABOUT_THE_PACKAGE.test(line) &&
					// The trigger's warnings about the deliveries the trigger checks forged on purpose.
					!line.includes('FLUX Kontext Trigger: refused a delivery') &&
					(['warn', 'error'].includes(level(line)) ||
						(level(line) === 'raw' && /\b(warn|warning|error|deprecated)\b/i.test(line))),
			);
			assert(bad.length === 0, bad.slice(0, 5).join(' | '));
			assert(
				lines.some((line) => ABOUT_THE_PACKAGE.test(line)),
				'the log never mentions the package: is the check blind?',
			);
			return `${lines.length} lines read, ${lines.filter((line) => ABOUT_THE_PACKAGE.test(line)).length} about the package, none a warning or an error`;
		},
	],
];

// ---------------------------------------------------------------------------------------------

function ensureRedis(): void {
	if (spawnSync('sh', ['-c', 'command -v redis-server']).status === 0) return;
	console.log("installing Debian's redis-server for queue mode");
	runToEnd(
		'sh',
		[
			'-c',
			'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server',
		],
		{ timeoutMs: 900_000 },
	);
}

/** One n8n version in one mode: its instance started, every check run, its own tally. */
async function runMode(
	mode: Mode,
	install: N8nInstall,
	tarball: string,
	runRoot: string,
	fal: FakeFal,
	openAi: FakeOpenAi,
): Promise<void> {
	const started = Date.now();
	const first = outcomes.length;
	try {
		await runChecks(mode, install, tarball, runRoot, fal, openAi);
	} finally {
		const mine = outcomes.slice(first);
		const line = `result n8n ${install.version} ${mode}: ${mine.filter((o) => o.status === 'ok').length} passed, ${mine.filter((o) => o.status === 'FAIL').length} failed, ${Math.round((Date.now() - started) / 1000)} s`;
		results.push(line);
		console.log(line);
	}
}
const results: string[] = [];

async function runChecks(
	mode: Mode,
	install: N8nInstall,
	tarball: string,
	runRoot: string,
	fal: FakeFal,
	openAi: FakeOpenAi,
): Promise<void> {
	const started = Date.now();
	const label = `n8n ${install.version} ${mode}`;
	const runDir = path.join(runRoot, `${install.version}-${mode}`);
	const credentials = e2eCredentials(fal.url, openAi.url);
	// n8n 1.x's import:workflow also needs `active` ("NOT NULL constraint failed: workflow_entity.active").
	const legacy = install.version.startsWith('1.') ? { active: false } : {};
	const workflows = [...Object.entries(examples), ...Object.entries(own)].map(
		([key, workflow]) => ({
			...withFakeFalKeys(withId(key, workflow), fal.jwksUrl),
			...legacy,
		}),
	);
	let n8n: Instance;
	try {
		n8n = await startInstance({
			install,
			runDir,
			tarball,
			packageName: PACKAGE_NAME,
			credentials,
			workflows,
			mode,
		});
	} catch (error) {
		report({
			status: 'FAIL',
			name: `${label}: starts with the package`,
			detail: (error as Error).message.split('\n').slice(0, 8).join(' | '),
		});
		return;
	}
	try {
		report({
			status: 'ok',
			name: `${label}: starts with the package`,
			detail: `${Math.round((Date.now() - started) / 1000)} s (logs in ${runDir})`,
		});
		const rest = new Rest(n8n.url, install);
		await rest.setUpOwnerAndLogIn();
		for (const [name, body] of checks) {
			fal.reset();
			openAi.reset();
			await check(`${label}: ${name}`, () => body({ n8n, rest, fal, openAi }));
		}
		if (n8n.worker) {
			const worker = n8n.worker;
			await check(`${label}: every execution ran on the worker`, async () => {
				const missing = rest.started.filter(
					(id) => !worker.output().includes(`Worker started execution ${id} `),
				);
				assert(
					rest.started.length > 0 && missing.length === 0,
					`not on the worker: executions ${missing.join(', ')}`,
				);
				return `${rest.started.length} executions`;
			});
		}
	} finally {
		await n8n.stop();
	}
}

async function main(): Promise<void> {
	stopAllOnExit();
	const started = Date.now();
	const modes = process.argv.slice(2).length ? (process.argv.slice(2) as Mode[]) : [...MODES];
	for (const mode of modes)
		if (!MODES.includes(mode)) throw new Error(`unknown mode ${mode} (${MODES.join(', ')})`);
	if (process.getuid?.() !== 0)
		throw new Error(
			'the e2e run needs root: n8n runs in mount namespaces that give it /home/node/.n8n-files',
		);

	const versions = (process.env.N8N_E2E_VERSIONS ?? `${LOWEST_SUPPORTED_N8N},${NEWEST_N8N}`)
		.split(',')
		.map((version) => version.trim())
		.filter(Boolean);

	const runRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'flux-kontext-e2e-'));
	console.log(
		`e2e: n8n ${versions.join(' and ')}, ${modes.join(' and ')} mode; work folder ${runRoot}`,
	);
	// Installed (or found in the cache) one after the other: each is a few minutes' npm install cold.
	const installs = versions.map((version) => {
		const begun = Date.now();
		const install = installN8n(REPO, version);
		console.log(
			`e2e: n8n ${install.version} ready in ${Math.round((Date.now() - begun) / 1000)} s (${install.dir})`,
		);
		return install;
	});
	if (modes.includes('queue')) ensureRedis();
	const tarball = packPackage(runRoot);

	const slow: Record<string, { queueMs: number; runMs: number }> = {
		[STOP_PROMPT]: { queueMs: 10 * 60_000, runMs: 1000 },
		[HANDOFF_PROMPT]: { queueMs: 500, runMs: 1500 },
		// Long enough for the execution to park in its Wait node before fal calls back.
		[promptOf(examples['handoff-webhook-wait'])]: { queueMs: 1500, runMs: 1500 },
	};
	const fal = await FakeFal.start({
		timing: (input) => slow[String(input.prompt)] ?? { queueMs: 50, runMs: 200 },
	});
	const openAi = await FakeOpenAi.start(TOOL_ARGUMENTS);
	try {
		for (const install of installs)
			for (const mode of modes) await runMode(mode, install, tarball, runRoot, fal, openAi);
	} finally {
		await stopAll();
		await fal.stop();
		await openAi.stop();
	}
	const count = (status: Outcome['status']) => outcomes.filter((o) => o.status === status).length;
	for (const line of results) console.log(line);
	console.log(`e2e: wall time ${Math.round((Date.now() - started) / 1000)} s`);
	console.log(`${count('ok')} passed, ${count('FAIL')} failed`);
	process.exitCode = count('FAIL') || count('ok') === 0 ? 1 : 0;
}

main().catch(async (error: Error) => {
	console.log(`FAIL e2e run — ${error.message.split('\n').slice(0, 8).join(' | ')}`);
	await stopAll();
	console.log(
		`${outcomes.filter((o) => o.status === 'ok').length} passed, ${outcomes.filter((o) => o.status === 'FAIL').length + 1} failed`,
	);
	process.exit(1);
});
