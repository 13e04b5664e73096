/**
 * An "active workflow" that starts with the FLUX Kontext Trigger, driven the way n8n's CLI drives a
 * production webhook (packages/cli/src/webhooks/live-webhooks.ts and webhook-helpers.ts, 2.41.1):
 *
 *  1. a real HTTP listener on 127.0.0.1 takes the POST; the raw bytes are kept as `rawBody` and the
 *     JSON parsed into `body`, as n8n's body parser does;
 *  2. each call builds its own `Workflow` with the static data as last saved (n8n loads it from the
 *     database per call), runs the node's `webhook()` in n8n-core's `WebhookContext` (mode
 *     'webhook', no execution id yet), and saves the static data afterwards if it changed;
 *  3. the answer: what the node wrote itself (`noWebhookResponse`), its `webhookResponse`, or, with
 *     `workflowData`, 200 at once (response mode "onReceived") and then an execution in n8n-core's
 *     `WorkflowExecute` with the trigger on the execution stack holding that data, under an
 *     execution id of its own (the trigger's `execute()` runs there, as on n8n's worker).
 *
 * What is stubbed: the database (static data is a JSON copy kept here), the queue (the execution
 * runs in this process), the webhook registry (one URL).
 */
import * as http from 'node:http';

import type * as N8nCore from 'n8n-core';
import type * as N8nWorkflow from 'n8n-workflow';
import type {
	ICredentialDataDecryptedObject,
	IDataObject,
	INode,
	INodeParameters,
	IRun,
	IWebhookResponseData,
} from 'n8n-workflow';

import {
	CREDENTIAL_REF,
	DEFAULT_CREDENTIAL_TYPE,
	REPO_ROOT,
	TestCredentialsHelper,
	initEngine,
	loadPackage,
	makeAdditionalData,
	makeNodeTypes,
	resolveItems,
	type OutputItem,
} from './engine';

/* eslint-disable @typescript-eslint/no-require-imports */
const core = require('n8n-core') as typeof N8nCore;
const wf = require('n8n-workflow') as typeof N8nWorkflow;
/* eslint-enable @typescript-eslint/no-require-imports */

export const TRIGGER_TYPE = 'n8n-nodes-flux-kontext.fluxKontextTrigger';
export const TRIGGER_NAME = 'FLUX Kontext Trigger';
const WEBHOOK_ID = '6f1c2f8e-0d1b-4f59-9a57-2b1f3c4d5e6f';

export interface TriggerExecution {
	id: string;
	status: string;
	error?: { message: string; description?: string };
	/** The trigger's output items (binary read back through n8n's BinaryDataService). */
	items: OutputItem[];
	/** Output of a node after the trigger, by name. */
	output(nodeName: string): OutputItem[];
	run: IRun;
}

export interface Answer {
	status: number;
	body: string;
	/** ms from the POST's arrival to the end of its answer. */
	ms: number;
}

export interface ActiveTriggerWorkflow {
	/** The production URL (`<base>webhook/<webhookId>/webhook`). */
	url: string;
	/** Executions the deliveries started, in the order they started. */
	executions: TriggerExecution[];
	/** Every POST's answer, in arrival order. */
	answers: Answer[];
	/** The static data as n8n would have saved it. */
	savedStaticData(): IDataObject;
	/** Resolves when every execution started so far has finished. */
	settled(): Promise<void>;
	close(): Promise<void>;
}

export interface TriggerWorkflowOptions {
	parameters?: Record<string, unknown>;
	/** Credential data for fluxKontextApi; omitted: the trigger has no credential. */
	credentials?: Record<string, unknown>;
	continueOnFail?: boolean;
	/** Package directory to load (default: the repository root; scripts compiled into .build pass it). */
	packageDir?: string;
	/** Nodes after the trigger, chained linearly (types of the package or of the harness). */
	then?: Array<{ name: string; type: string; parameters: Record<string, unknown> }>;
}

let executionCounter = 1000;

export async function startTriggerWorkflow(
	opts: TriggerWorkflowOptions = {},
): Promise<ActiveTriggerWorkflow> {
	await initEngine();
	const pkg = await loadPackage(opts.packageDir ?? REPO_ROOT);
	const nodeTypes = makeNodeTypes(pkg);
	const triggerType = nodeTypes.getByNameAndVersion(TRIGGER_TYPE, 1);
	const webhookDescription = triggerType.description.webhooks?.[0];
	if (!webhookDescription || !triggerType.webhook) throw new Error('the trigger has no webhook');

	const trigger: INode = {
		id: 'node-trigger',
		name: TRIGGER_NAME,
		type: TRIGGER_TYPE,
		typeVersion: 1,
		position: [0, 0],
		webhookId: WEBHOOK_ID,
		parameters: (opts.parameters ?? {}) as INodeParameters,
		...(opts.credentials
			? { credentials: { [DEFAULT_CREDENTIAL_TYPE]: { ...CREDENTIAL_REF } } }
			: {}),
		...(opts.continueOnFail ? { onError: 'continueRegularOutput' as const } : {}),
	};
	const nodes: INode[] = [trigger];
	(opts.then ?? []).forEach((t, i) =>
		nodes.push({
			id: `node-then-${i}`,
			name: t.name,
			type: t.type,
			typeVersion: 1,
			position: [200 * (i + 1), 0],
			parameters: t.parameters as INodeParameters,
		}),
	);
	const connections: N8nWorkflow.IConnections = {};
	for (let i = 0; i < nodes.length - 1; i++)
		connections[nodes[i].name] = { main: [[{ node: nodes[i + 1].name, type: 'main', index: 0 }]] };

	const credentialsHelper = new TestCredentialsHelper(
		pkg.credentialTypes,
		opts.credentials
			? { [DEFAULT_CREDENTIAL_TYPE]: { ...opts.credentials } as ICredentialDataDecryptedObject }
			: {},
	);
	const workflowId = 'trigger-workflow';
	let saved: IDataObject = {};
	const executions: TriggerExecution[] = [];
	const answers: Answer[] = [];
	const running = new Set<Promise<void>>();

	const newWorkflow = () =>
		new wf.Workflow({
			id: workflowId,
			name: 'Trigger workflow',
			nodes,
			connections,
			active: true,
			nodeTypes,
			staticData: structuredClone(saved),
			settings: { executionOrder: 'v1' },
		});

	async function execute(workflow: N8nWorkflow.Workflow, data: N8nWorkflow.INodeExecutionData[][]) {
		const id = String(++executionCounter);
		const hooks = new core.ExecutionLifecycleHooks('webhook', id, {
			id: workflowId,
			name: 'Trigger workflow',
			active: true,
			nodes,
			connections,
			settings: workflow.settings,
		} as unknown as N8nWorkflow.IWorkflowBase);
		const additionalData = makeAdditionalData({
			credentialsHelper,
			executionId: id,
			workflowId,
			hooks,
		});
		const runExecutionData = wf.createRunExecutionData({
			executionData: {
				nodeExecutionStack: [{ node: trigger, data: { main: data }, source: null }],
			},
		});
		const execution: TriggerExecution = {
			id,
			status: 'running',
			items: [],
			output: () => [],
			run: undefined as unknown as IRun,
		};
		executions.push(execution);
		const run = await new core.WorkflowExecute(
			additionalData,
			'webhook',
			runExecutionData,
		).processRunExecutionData(workflow);
		const outputs = new Map<string, OutputItem[]>();
		for (const [name, tasks] of Object.entries(run.data.resultData.runData)) {
			outputs.set(name, await resolveItems(tasks.at(-1)?.data?.main?.[0]));
		}
		const error = run.data.resultData.error;
		Object.assign(execution, {
			status: run.status,
			error: error
				? { message: error.message, description: error.description ?? undefined }
				: undefined,
			items: outputs.get(TRIGGER_NAME) ?? [],
			output: (name: string) => outputs.get(name) ?? [],
			run,
		});
	}

	async function handle(req: http.IncomingMessage, res: http.ServerResponse, rawBody: Buffer) {
		const started = Date.now();
		const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
		const end = res.end.bind(res) as (...args: unknown[]) => http.ServerResponse;
		res.end = ((...args: unknown[]) => {
			if (typeof args[0] === 'string' || Buffer.isBuffer(args[0])) bodies.set(res, String(args[0]));
			return end(...args);
		}) as typeof res.end;
		res.on('finish', () =>
			answers.push({ status: res.statusCode, body: sentBody(res), ms: Date.now() - started }),
		);
		if (req.method !== 'POST' || path !== `/webhook/${WEBHOOK_ID}/${webhookDescription!.path}`) {
			return sendJson(res, 404, { message: 'The requested webhook is not registered.' });
		}
		let body: unknown = {};
		if (
			String(req.headers['content-type'] ?? '').startsWith('application/json') &&
			rawBody.length
		) {
			try {
				body = JSON.parse(rawBody.toString('utf8'));
			} catch {
				return sendJson(res, 400, { message: 'Failed to parse request body' });
			}
		}
		const workflow = newWorkflow();
		const additionalData = makeAdditionalData({ credentialsHelper, workflowId });
		additionalData.httpRequest = {
			headers: req.headers,
			body,
			rawBody,
			query: {},
			params: {},
			method: req.method,
			url: req.url,
		} as unknown as typeof additionalData.httpRequest;
		additionalData.httpResponse = res as unknown as typeof additionalData.httpResponse;
		const webhookData = {
			httpMethod: 'POST' as const,
			node: TRIGGER_NAME,
			path: webhookDescription!.path as string,
			webhookDescription: webhookDescription!,
			workflowId,
			workflowExecuteAdditionalData: additionalData,
			webhookId: WEBHOOK_ID,
		};
		let result: IWebhookResponseData;
		try {
			const ctx = new core.WebhookContext(
				workflow,
				trigger,
				additionalData,
				'webhook',
				webhookData as never,
				[],
				null,
			);
			result = await triggerType.webhook!.call(ctx);
		} catch (error) {
			return sendJson(res, 500, { message: 'Error in workflow', error: String(error) });
		}
		// n8n saves the static data after the webhook call (live-webhooks.ts).
		if ((workflow.staticData as IDataObject).__dataChanged === true) {
			const { __dataChanged: _changed, ...rest } = workflow.staticData as IDataObject;
			saved = JSON.parse(JSON.stringify(rest)) as IDataObject;
		}
		if (result.noWebhookResponse) {
			if (!res.writableEnded) res.end();
		} else if (result.workflowData === undefined) {
			sendJson(
				res,
				200,
				(result.webhookResponse as object) ?? { message: 'Webhook call received' },
			);
		} else {
			sendJson(res, 200, { message: 'Workflow was started' });
		}
		if (result.workflowData) {
			const done = execute(workflow, result.workflowData).catch((error: unknown) => {
				process.stderr.write(`webhook-engine: execution failed to run: ${String(error)}\n`);
			});
			running.add(done);
			void done.finally(() => running.delete(done));
		}
	}

	const server = http.createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (chunk: Buffer) => chunks.push(chunk));
		req.on('end', () => void handle(req, res, Buffer.concat(chunks)));
	});
	const port = await new Promise<number>((resolve) =>
		server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
	);
	return {
		url: `http://127.0.0.1:${port}/webhook/${WEBHOOK_ID}/${webhookDescription.path}`,
		executions,
		answers,
		savedStaticData: () => structuredClone(saved),
		settled: async () => {
			while (running.size > 0) await Promise.allSettled([...running]);
		},
		close: async () => {
			while (running.size > 0) await Promise.allSettled([...running]);
			server.closeAllConnections();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}

const bodies = new WeakMap<http.ServerResponse, string>();

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
	const text = JSON.stringify(body);
	res.writeHead(status, { 'content-type': 'application/json' });
	res.end(text);
}

function sentBody(res: http.ServerResponse): string {
	return bodies.get(res) ?? '';
}
