/**
 * A real n8n for the end-to-end run: installed once into a cache outside the repository (install-n8n.sh),
 * given this package the way n8n's community-package installer does, started in regular or queue mode,
 * and driven through its REST API the way the editor drives it.
 *
 * n8n sees `/home/node/.n8n-files`, the folder its Docker image lets Read/Write File use, as in Docker:
 * every n8n process runs in a mount namespace of its own (unshare, needs root) where that path is a bind
 * mount of the run's `files/` folder, so the shipped examples' paths work unchanged and the run reads
 * what they wrote.
 */
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { freePort, runToEnd, start, until, type Proc } from './processes';

export const N8N_FILES_FOLDER = '/home/node/.n8n-files';
/** The newest n8n the e2e installs from this registry mirror (see install-n8n.sh). */
export const NEWEST_N8N = '2.41.1';
const ENCRYPTION_KEY = 'flux-kontext-e2e-encryption-key';
export const OWNER = {
	email: 'e2e@example.com',
	firstName: 'E2E',
	lastName: 'Owner',
	password: 'E2e-password-1',
};
/** The editor sends a browser id with every request; the auth cookie is bound to it. */
const BROWSER_ID = 'flux-kontext-e2e-browser';

export interface N8nInstall {
	dir: string;
	/** Folder holding the `node` binary n8n runs on (24, or 22 for the 1.x that declare it). */
	nodeBin: string;
	n8nBin: string;
	version: string;
	/** n8n's own copy of a module (flatted, to read execution data). */
	require: NodeJS.Require;
}

/** Installs n8n `version` (or finds it in the cache) with scripts/e2e/install-n8n.sh. */
export function installN8n(repoRoot: string, version: string): N8nInstall {
	const dir = runToEnd('bash', [path.join(repoRoot, 'scripts/e2e/install-n8n.sh'), version], {
		timeoutMs: 45 * 60_000,
	})
		.trim()
		.split('\n')
		.pop()!;
	const n8nPackage = path.join(dir, 'n8n/node_modules/n8n');
	return {
		dir,
		nodeBin: path.join(dir, 'node/node_modules/node/bin'),
		n8nBin: path.join(n8nPackage, 'bin/n8n'),
		version: (
			JSON.parse(fs.readFileSync(path.join(n8nPackage, 'package.json'), 'utf8')) as {
				version: string;
			}
		).version,
		require: createRequire(path.join(n8nPackage, 'package.json')),
	};
}

export interface Instance {
	url: string;
	userFolder: string;
	/** What the examples wrote into n8n's files folder. */
	filesFolder: string;
	main: Proc;
	worker?: Proc;
	redis?: Proc;
	/** Everything n8n's processes logged so far. */
	logs(): string;
	stop(): Promise<void>;
}

export interface InstanceOptions {
	install: N8nInstall;
	runDir: string;
	/** The packed package (npm pack's .tgz). */
	tarball: string;
	packageName: string;
	credentials: unknown[];
	workflows: unknown[];
	mode: 'regular' | 'queue';
}

/** Sets up a user folder, installs the package, imports credentials and workflows, starts n8n; resolves when ready. */
export async function startInstance(options: InstanceOptions): Promise<Instance> {
	const { install, runDir, mode } = options;
	const userFolder = path.join(runDir, 'user');
	const filesFolder = path.join(runDir, 'files');
	fs.mkdirSync(userFolder, { recursive: true });
	fs.mkdirSync(filesFolder, { recursive: true });
	installPackage(path.join(userFolder, '.n8n/nodes'), options.tarball, options.packageName);

	const port = await freePort();
	const url = `http://127.0.0.1:${port}`;
	const env: NodeJS.ProcessEnv = {
		PATH: `${install.nodeBin}:${process.env.PATH ?? ''}`,
		HOME: '/home/node',
		N8N_USER_FOLDER: userFolder,
		N8N_ENCRYPTION_KEY: ENCRYPTION_KEY,
		N8N_PORT: String(port),
		N8N_LISTEN_ADDRESS: '127.0.0.1',
		N8N_HOST: '127.0.0.1',
		N8N_WEBHOOK_URL: `${url}/`,
		N8N_SECURE_COOKIE: 'false',
		N8N_DIAGNOSTICS_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
		N8N_PERSONALIZATION_ENABLED: 'false',
		N8N_TEMPLATES_ENABLED: 'false',
		N8N_RUNNERS_BROKER_PORT: String(await freePort()),
		// Debug: n8n then logs the package's loading too, so the log check sees it.
		N8N_LOG_LEVEL: 'debug',
		N8N_LOG_OUTPUT: 'console',
		GENERIC_TIMEZONE: 'UTC',
		NODE_ENV: 'production',
	};

	// Imports run before the server, each a short n8n process of its own.
	for (const [kind, items] of [
		['credentials', options.credentials],
		['workflow', options.workflows],
	] as const) {
		const file = path.join(runDir, `import-${kind}.json`);
		fs.writeFileSync(file, JSON.stringify(items, null, 2));
		runToEnd(...namespaced(install, [`import:${kind}`, `--input=${file}`], filesFolder), {
			env,
			timeoutMs: 180_000,
		});
	}

	let redis: Proc | undefined;
	if (mode === 'queue') {
		const redisPort = await freePort();
		redis = start(
			'redis',
			'redis-server',
			['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
			{
				logFile: path.join(runDir, 'redis.log'),
			},
		);
		await until(
			'redis to accept connections',
			() => (redis!.output().includes('Ready to accept connections') ? true : undefined),
			30_000,
		);
		Object.assign(env, {
			EXECUTIONS_MODE: 'queue',
			QUEUE_BULL_REDIS_HOST: '127.0.0.1',
			QUEUE_BULL_REDIS_PORT: String(redisPort),
			OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS: 'true',
		});
	}

	const main = start('n8n', ...namespaced(install, ['start'], filesFolder), {
		env,
		logFile: path.join(runDir, 'n8n.log'),
	});
	let worker: Proc | undefined;
	const stopAllOf = async () => {
		await worker?.stop();
		await main.stop();
		await redis?.stop();
	};
	try {
		await until(
			'n8n to be ready (GET /healthz)',
			async () => {
				if (main.child.exitCode !== null)
					throw new Error(`n8n exited:\n${main.output().slice(-3000)}`);
				const response = await fetch(`${url}/healthz`).catch(() => undefined);
				return response?.ok && main.output().includes('Editor is now accessible')
					? true
					: undefined;
			},
			180_000,
			500,
		);
		if (mode === 'queue') {
			const workerEnv = {
				...env,
				QUEUE_HEALTH_CHECK_ACTIVE: 'true',
				QUEUE_HEALTH_CHECK_PORT: String(await freePort()),
				N8N_RUNNERS_BROKER_PORT: String(await freePort()),
			};
			worker = start(
				'n8n worker',
				...namespaced(install, ['worker', '--concurrency=5'], filesFolder),
				{ env: workerEnv, logFile: path.join(runDir, 'worker.log') },
			);
			await until(
				'the n8n worker to be ready',
				async () => {
					if (worker!.child.exitCode !== null)
						throw new Error(`n8n worker exited:\n${worker!.output().slice(-3000)}`);
					const response = await fetch(
						`http://127.0.0.1:${workerEnv.QUEUE_HEALTH_CHECK_PORT}/healthz/readiness`,
					).catch(() => undefined);
					return response?.ok ? true : undefined;
				},
				180_000,
				500,
			);
		}
	} catch (error) {
		await stopAllOf();
		throw error;
	}
	return {
		url,
		userFolder,
		filesFolder,
		main,
		worker,
		redis,
		logs: () => main.output() + (worker?.output() ?? ''),
		stop: stopAllOf,
	};
}

/**
 * The command line that runs `n8n <args>` on Node 24 in a mount namespace where /home/node/.n8n-files is
 * `filesFolder` (a tmpfs over /home, so nothing on the machine changes).
 */
function namespaced(install: N8nInstall, args: string[], filesFolder: string): [string, string[]] {
	const script = `mount -t tmpfs tmpfs /home && mkdir -p ${N8N_FILES_FOLDER} && mount --bind "$0" ${N8N_FILES_FOLDER} && exec "$@"`;
	return [
		'unshare',
		[
			'--mount',
			'--propagation',
			'private',
			'sh',
			'-c',
			script,
			filesFolder,
			path.join(install.nodeBin, 'node'),
			install.n8nBin,
			...args,
		],
	];
}

/**
 * What n8n's community-package installer does: the package unpacked into `<nodes>/node_modules/<name>`, its
 * dev/peer/optional dependencies removed, `<nodes>/package.json` naming it, `npm install` (no scripts) inside it.
 */
function installPackage(nodesFolder: string, tarball: string, name: string): void {
	const target = path.join(nodesFolder, 'node_modules', name);
	fs.mkdirSync(target, { recursive: true });
	runToEnd('tar', ['xzf', tarball, '-C', target, '--strip-components=1']);
	const manifestFile = path.join(target, 'package.json');
	const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as Record<string, unknown>;
	delete manifest.devDependencies;
	delete manifest.peerDependencies;
	delete manifest.optionalDependencies;
	fs.writeFileSync(manifestFile, JSON.stringify(manifest, null, 2));
	fs.writeFileSync(
		path.join(nodesFolder, 'package.json'),
		JSON.stringify(
			{ name: 'installed-nodes', private: true, dependencies: { [name]: manifest.version } },
			null,
			2,
		),
	);
	runToEnd(
		'npm',
		['install', '--ignore-scripts', '--package-lock=false', '--no-audit', '--no-fund'],
		{ cwd: target, timeoutMs: 180_000 },
	);
}

/** n8n's REST API as the editor uses it: one logged-in owner. */
export class Rest {
	private cookie = '';
	/** Ids of the executions started through `run`, in order. */
	readonly started: string[] = [];

	constructor(
		readonly url: string,
		private readonly install: N8nInstall,
	) {}

	async request<T = unknown>(
		method: string,
		route: string,
		body?: unknown,
	): Promise<{ status: number; body: T; text: string }> {
		const response = await fetch(`${this.url}${route}`, {
			method,
			headers: {
				'content-type': 'application/json',
				'browser-id': BROWSER_ID,
				cookie: this.cookie,
			},
			body: body === undefined ? undefined : JSON.stringify(body),
			signal: AbortSignal.timeout(60_000),
		});
		const setCookie = response.headers.get('set-cookie');
		const auth = setCookie && /n8n-auth=[^;]*/.exec(setCookie);
		if (auth) this.cookie = auth[0];
		const text = await response.text();
		let parsed: unknown = text;
		try {
			parsed = JSON.parse(text);
		} catch {
			// not JSON
		}
		return { status: response.status, body: parsed as T, text };
	}

	/** `data` of a successful answer; throws with the answer otherwise. */
	async call<T = unknown>(method: string, route: string, body?: unknown): Promise<T> {
		const answer = await this.request<{ data: T }>(method, route, body);
		if (answer.status >= 300)
			throw new Error(`${method} ${route}: HTTP ${answer.status} ${answer.text.slice(0, 500)}`);
		return answer.body.data;
	}

	async setUpOwnerAndLogIn(): Promise<void> {
		await this.call('POST', '/rest/owner/setup', OWNER);
		await this.call('POST', '/rest/login', {
			emailOrLdapLoginId: OWNER.email,
			password: OWNER.password,
		});
	}

	/**
	 * Starts a workflow from a trigger as the editor's "Execute workflow" does; the execution's id.
	 * n8n 1.x wants the workflow itself in the body (as its editor sends it); 2.x takes the id alone.
	 * A trigger given its data (the chat message) starts, on 1.x, only with the nodes after it named as
	 * `startNodes` (else 1.x tries to run the trigger: "reading 'execute'").
	 */
	async run(workflowId: string, trigger: string, triggerData?: unknown): Promise<string> {
		const workflowData = this.install.version.startsWith('1.')
			? await this.call<{ connections: Record<string, { main?: Array<Array<{ node: string }>> }> }>(
					'GET',
					`/rest/workflows/${workflowId}`,
				)
			: undefined;
		const startNodes =
			workflowData && triggerData
				? (workflowData.connections[trigger]?.main?.[0] ?? []).map(({ node }) => ({
						name: node,
						sourceData: null,
					}))
				: undefined;
		const data = await this.call<{ executionId?: string }>(
			'POST',
			`/rest/workflows/${workflowId}/run`,
			{
				...(workflowData ? { workflowData } : {}),
				...(startNodes ? { startNodes } : {}),
				triggerToStartFrom: { name: trigger, ...(triggerData ? { data: triggerData } : {}) },
			},
		);
		if (!data.executionId) throw new Error(`no execution started: ${JSON.stringify(data)}`);
		this.started.push(data.executionId);
		return data.executionId;
	}

	async execution(id: string): Promise<Execution & { raw: string }> {
		const data = await this.call<{ status: string; data: string }>('GET', `/rest/executions/${id}`);
		const { parse } = this.install.require('flatted') as { parse: (text: string) => ExecutionData };
		return { status: data.status, data: parse(data.data), raw: data.data };
	}

	/**
	 * Polls an execution until its status is one of `statuses` (by default: finished one way or
	 * another) and its data reads the same twice in a row: n8n 1.x's worker writes the status before
	 * the run data, so a read in between has the final status with half the data.
	 */
	async waitFor(
		id: string,
		timeoutMs: number,
		statuses = ['success', 'error', 'canceled', 'crashed'],
	): Promise<Execution> {
		let previous: string | undefined;
		return await until(
			`execution ${id} to be ${statuses.join('/')}`,
			async () => {
				const { raw, ...execution } = await this.execution(id);
				if (!statuses.includes(execution.status)) return undefined;
				const settled = raw === previous;
				previous = raw;
				return settled ? execution : undefined;
			},
			timeoutMs,
			300,
		);
	}

	/**
	 * Activates (2.x: publishes) an imported workflow, as the editor's toggle does: 2.x
	 * `POST /rest/workflows/<id>/activate` with its versionId, 1.x `PATCH /rest/workflows/<id>` with
	 * `active: true`. Its webhooks are registered shortly after this returns.
	 */
	async activate(workflowId: string): Promise<void> {
		const workflow = await this.call<{ versionId: string; active?: boolean }>(
			'GET',
			`/rest/workflows/${workflowId}`,
		);
		if (Number(this.install.version.split('.')[0]) >= 2) {
			await this.call('POST', `/rest/workflows/${workflowId}/activate`, {
				versionId: workflow.versionId,
			});
		} else {
			await this.call('PATCH', `/rest/workflows/${workflowId}`, {
				...workflow,
				active: true,
			});
		}
	}

	/** Ids and statuses of a workflow's executions, newest first (as the executions list shows them). */
	async executionsOf(workflowId: string): Promise<Array<{ id: string; status: string }>> {
		const filter = encodeURIComponent(JSON.stringify({ workflowId }));
		const data = await this.call<{ results: Array<{ id: string; status: string }> }>(
			'GET',
			`/rest/executions?filter=${filter}&limit=100`,
		);
		return data.results.map(({ id, status }) => ({ id: String(id), status }));
	}

	/** The bytes of a binary data entry of an execution's output. */
	async binary(entry: BinaryEntry): Promise<Buffer> {
		if (!entry.id) return Buffer.from(entry.data, 'base64');
		const response = await fetch(
			`${this.url}/rest/binary-data?id=${encodeURIComponent(entry.id)}&action=download`,
			{
				headers: { 'browser-id': BROWSER_ID, cookie: this.cookie },
				signal: AbortSignal.timeout(60_000),
			},
		);
		if (!response.ok) throw new Error(`binary data ${entry.id}: HTTP ${response.status}`);
		return Buffer.from(await response.arrayBuffer());
	}
}

export interface BinaryEntry {
	id?: string;
	data: string;
	mimeType: string;
	fileName?: string;
	fileExtension?: string;
}

export interface OutputItem {
	json: Record<string, unknown>;
	binary?: Record<string, BinaryEntry>;
}

export interface ExecutionData {
	resultData: {
		error?: { message: string };
		runData: Record<
			string,
			Array<{ data?: Record<string, Array<OutputItem[] | null>>; error?: { message: string } }>
		>;
	};
}

export interface Execution {
	status: string;
	data: ExecutionData;
}

/** The items a node output on its first output of its last run (`main`, or another connection type). */
export function outputOf(execution: Execution, nodeName: string, type = 'main'): OutputItem[] {
	const runs = execution.data.resultData.runData[nodeName];
	if (!runs?.length) throw new Error(`node "${nodeName}" did not run`);
	return runs[runs.length - 1].data?.[type]?.[0] ?? [];
}

/** The first error of an execution, for messages. */
export function errorOf(execution: Execution): string {
	const { error, runData } = execution.data.resultData;
	if (error) return error.message;
	for (const [node, runs] of Object.entries(runData))
		for (const run of runs) if (run.error) return `${node}: ${run.error.message}`;
	return '(no error recorded)';
}
