/**
 * Pins on n8n-core behaviour the node relies on but n8n does not document. If one of these fails after an n8n
 * upgrade, the node's promise "no paid job runs unseen" is broken: read the comment of `withSignal` in
 * nodes/FluxKontext/transport/exchange.ts and find n8n's new way before shipping.
 *
 * What is pinned: n8n-core's `httpRequestWithAuthentication` sets each request's `abortSignal` from
 * `this.getExecutionCancelSignal()` (n8n-core 2.41: execution-engine/node-execution-context/utils/
 * request-helpers/authentication.js). The node hands each request a context whose signal is the request's own:
 * its deadline, the item's Timeout, the batch halt, and, for the cancel that follows a Stop, not the Stop.
 */
import { runWorkflow } from '../support/engine';
import {
	credentialsFor,
	editParams,
	eventually,
	requestsOf,
	textToImageParams,
	useFakeFal,
} from './setup';

const server = useFakeFal();

/** Fails with a message that says what broke, not just which number differed. */
function pin(holds: boolean, what: string): void {
	if (!holds) throw new Error(`n8n-core changed: ${what}. See test/integration/n8n-pins.test.ts.`);
}

describe("n8n-core takes a request's abort signal from the context the node hands it", () => {
	it("the cancel that follows a Stop reaches fal (the stopped execution's signal does not abort it)", async () => {
		const { fal } = server;
		fal.options.timing = () => ({ queueMs: 8000, runMs: 100 });
		const run = await runWorkflow({
			parameters: textToImageParams(),
			credentials: credentialsFor(fal),
			cancelAfterMs: 400,
		});
		expect(run.status).toBe('canceled');
		await eventually(
			() => fal.jobs.size === 1 && [...fal.jobs.values()][0].state === 'CANCELLED',
		).catch(() => undefined);
		const [job] = fal.jobs.values();
		pin(
			job.state === 'CANCELLED',
			"the PUT cancel sent after Stop no longer reaches fal: the request helper aborts it with the execution's signal",
		);
	});

	it("an item's Timeout closes the socket of a request in flight, not merely stops waiting for it", async () => {
		const { fal } = server;
		fal.options.stream = '404';
		fal.options.timing = () => ({ queueMs: 8000, runMs: 100 });
		// A poll that never answers; its own deadline (30 s) is far off, the item's Timeout (1 s) is not.
		fal.inject({ kind: 'status', hang: true });
		const run = await runWorkflow({
			parameters: editParams({ options: { timeout: 1 } }),
			credentials: credentialsFor(fal),
			continueOnFail: true,
		});
		expect(run.output()[0].json.error).toMatch(/^Timed out after 1 s waiting for request/);
		const [hung] = requestsOf(fal, 'status');
		await eventually(() => hung.closedAt !== undefined, 5000).catch(() => undefined);
		pin(
			hung.closedAt !== undefined && hung.closedAt - hung.at < 4000,
			'a request the node aborts keeps its socket open: the request helper ignores the signal the node hands it',
		);
	});
});
