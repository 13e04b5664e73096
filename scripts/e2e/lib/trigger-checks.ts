/**
 * The e2e checks of the FLUX Kontext Trigger (issue 17): the example pair (batch-handoff-submit hands
 * its jobs off to batch-handoff-trigger's production URL) in a real n8n, and what the trigger refuses.
 * Ordinary checks: run.ts runs them in every mode (and on every n8n version it runs).
 *
 * The trigger example runs as shipped except its JWKS URL, which points at the fake fal's keys
 * (`withFakeFalKeys`): the shipped one is fal's, out of reach here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { TINY_JPEG, type FakeFal } from '../../../test/support/fake-fal';
import { outputOf, type Execution, type Instance, type OutputItem, type Rest } from './n8n';
import { until } from './processes';
import { examples, nodeOf, workflowIds, type WorkflowFile } from './workflows';

export const TRIGGER_TYPE = 'n8n-nodes-flux-kontext.fluxKontextTrigger';
const SUBMIT = 'batch-handoff-submit';
const TRIGGER = 'batch-handoff-trigger';
const TIMEOUT_MS = 120_000;

export interface TriggerCheckContext {
	n8n: Instance;
	rest: Rest;
	fal: FakeFal;
}

export interface TriggerCheckTools {
	runExample(ctx: TriggerCheckContext, key: string): Promise<Execution>;
	holdsFalImage(rest: Rest, item: OutputItem): Promise<number>;
}

/** A workflow's FLUX Kontext Triggers read the fake fal's keys instead of fal's. */
export function withFakeFalKeys(workflow: WorkflowFile, jwksUrl: string): WorkflowFile {
	return {
		...workflow,
		nodes: workflow.nodes.map((node) =>
			node.type === TRIGGER_TYPE
				? {
						...node,
						parameters: {
							...node.parameters,
							options: { ...(node.parameters.options as object), jwksUrl },
						},
					}
				: node,
		),
	};
}

function assert(condition: unknown, message: string): asserts condition {
	if (!condition) throw new Error(message);
}

const triggerNode = () => nodeOf(examples[TRIGGER], (node) => node.type === TRIGGER_TYPE);

/** The trigger example's production URL on this n8n. */
function productionUrl(n8n: Instance): string {
	const node = triggerNode() as { webhookId?: string };
	return `${n8n.url}/webhook/${node.webhookId}/webhook`;
}

/**
 * Activates the trigger example once per n8n, and waits until its URL is registered: an unsigned
 * POST is answered 401 by the trigger, 404 before n8n has registered it.
 */
const activated = new WeakSet<Instance>();
async function activeTrigger(ctx: TriggerCheckContext): Promise<string> {
	const url = productionUrl(ctx.n8n);
	if (activated.has(ctx.n8n)) return url;
	await ctx.rest.activate(workflowIds.get(TRIGGER)!);
	await until(
		'the trigger URL to be registered',
		async () => ((await ctx.fal.signer.sendUnsigned(url, {})).status === 401 ? true : undefined),
		60_000,
		250,
	);
	activated.add(ctx.n8n);
	return url;
}

/** Waits for `count` finished executions of the trigger workflow beyond those in `before`. */
async function newExecutions(
	rest: Rest,
	before: Set<string>,
	count: number,
): Promise<Array<{ id: string; status: string }>> {
	return await until(
		`${count} finished execution(s) of the trigger workflow`,
		async () => {
			const fresh = (await rest.executionsOf(workflowIds.get(TRIGGER)!)).filter(
				(e) => !before.has(e.id),
			);
			const finished = fresh.filter((e) => !['new', 'running', 'waiting'].includes(e.status));
			return finished.length >= count ? fresh : undefined;
		},
		TIMEOUT_MS,
		300,
	);
}

export function triggerChecks(
	tools: TriggerCheckTools,
): Array<[string, (ctx: TriggerCheckContext) => Promise<string | void>]> {
	return [
		[
			`${SUBMIT} + ${TRIGGER}: the submit hands off 5 jobs and ends; the active trigger starts 5 executions, each with its image`,
			async (ctx) => {
				const url = await activeTrigger(ctx);
				const before = new Set(
					(await ctx.rest.executionsOf(workflowIds.get(TRIGGER)!)).map((e) => e.id),
				);
				const submit = await tools.runExample(ctx, SUBMIT);
				const handles = outputOf(submit, 'Submit');
				assert(handles.length === 5, `${handles.length} jobs submitted`);
				const fresh = await newExecutions(ctx.rest, before, 5);
				await ctx.fal.webhooksSettled();
				assert(
					ctx.fal.webhooks.length === 5 &&
						ctx.fal.webhooks.every((d) => d.url === url && d.status === 200),
					`deliveries: ${JSON.stringify(ctx.fal.webhooks.map((d) => [d.url, d.status, d.error]))}`,
				);
				assert(fresh.length === 5, `${fresh.length} executions of the trigger workflow`);
				const delivered = new Set<string>();
				let bytes = 0;
				for (const { id, status } of fresh) {
					const execution = await ctx.rest.execution(id);
					assert(status === 'success', `trigger execution ${id} ended ${status}`);
					const [item] = outputOf(execution, triggerNode().name);
					const requestId = String(item.json.request_id);
					delivered.add(requestId);
					// Readable back from n8n (in queue mode: the worker wrote it, under this execution).
					bytes += await tools.holdsFalImage(ctx.rest, item);
					const file = path.join(ctx.n8n.filesFolder, `finished-${requestId}.jpg`);
					assert(fs.existsSync(file), `${path.basename(file)} was not written`);
				}
				const worker = ctx.n8n.worker;
				if (worker) {
					const elsewhere = fresh.filter(
						({ id }) => !worker.output().includes(`Worker started execution ${id} `),
					);
					assert(elsewhere.length === 0, `not on the worker: ${JSON.stringify(elsewhere)}`);
				}
				const submitted = handles.map((h) => String(h.json.request_id));
				assert(
					submitted.every((id) => delivered.has(id)),
					`submitted ${submitted.join(', ')}; delivered ${[...delivered].join(', ')}`,
				);
				return `5 executions, ${bytes} bytes of images, files written`;
			},
		],
		[
			`${TRIGGER}: forged, stale and unsigned deliveries get 401 and start nothing; a replay starts nothing`,
			async (ctx) => {
				const url = await activeTrigger(ctx);
				const before = new Set(
					(await ctx.rest.executionsOf(workflowIds.get(TRIGGER)!)).map((e) => e.id),
				);
				const body = (requestId: string) => ({
					request_id: requestId,
					gateway_request_id: requestId,
					status: 'OK',
					payload: {
						images: [
							{
								url: `data:image/jpeg;base64,${TINY_JPEG.toString('base64')}`,
								content_type: 'image/jpeg',
							},
						],
						seed: 1,
						prompt: 'e2e: a genuine delivery',
					},
				});
				const refused = [
					await ctx.fal.signer.sendForged(url, body('e2e-forged')),
					await ctx.fal.signer.sendStale(url, body('e2e-stale')),
					await ctx.fal.signer.sendUnsigned(url, body('e2e-unsigned')),
				].map((answer) => answer.status);
				assert(
					refused.every((s) => s === 401),
					`answers: ${refused.join(', ')}`,
				);
				// A genuine one after them, twice: its one execution is the only new one.
				const genuine = await ctx.fal.signer.sendSigned(url, body('e2e-genuine'));
				const again = await ctx.fal.signer.sendSigned(url, body('e2e-genuine'));
				assert(
					genuine.status === 200 && again.status === 200,
					`${genuine.status}, ${again.status}`,
				);
				const [first] = await newExecutions(ctx.rest, before, 1);
				// The replay was answered before that execution finished: had it started one, it is listed.
				const fresh = (await ctx.rest.executionsOf(workflowIds.get(TRIGGER)!)).filter(
					(e) => !before.has(e.id),
				);
				assert(fresh.length === 1, `${fresh.length} new executions: ${JSON.stringify(fresh)}`);
				const [item] = outputOf(await ctx.rest.execution(first.id), triggerNode().name);
				assert(
					item.json.request_id === 'e2e-genuine',
					`execution of ${String(item.json.request_id)}`,
				);
				const refusals = ctx.n8n
					.logs()
					.split('\n')
					.filter((line) => line.includes('FLUX Kontext Trigger: refused a delivery (401)'));
				assert(refusals.length >= 3, `${refusals.length} refusals logged`);
				return `401 ×3, then 1 execution for 2 genuine deliveries; log: ${refusals.at(-1)?.replace(/^.*\| /, '')}`;
			},
		],
	];
}
