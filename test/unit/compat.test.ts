import type { IExecuteFunctions, INode } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import {
	assertSupportedCore,
	LOWEST_SUPPORTED_N8N,
	missingCoreFeatures,
} from '../../nodes/FluxKontext/helpers/compat';
import type { SleepPrimitive } from '../../nodes/FluxKontext/transport/sleep';
import { sleepPrimitive, sleepUnlessAborted } from '../../nodes/FluxKontext/transport/sleep';

/** n8n-workflow's `sleep` up to n8n 1.100 (and beside sleepWithAbort to 2.33): no signal. */
const plainSleep: SleepPrimitive = async (ms) =>
	await new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
/** n8n-workflow's `sleepWithAbort` (n8n 1.101 to 2.33): rejects with an error of its own. */
const sleepWithAbort: SleepPrimitive = async (ms, signal) =>
	await new Promise<void>((resolve, reject) => {
		const cancelled = () => reject(new Error('ManualExecutionCancelledError'));
		if (signal?.aborted) return cancelled();
		const timer = setTimeout(resolve, ms);
		signal?.addEventListener('abort', () => (clearTimeout(timer), cancelled()), { once: true });
	});

const node = { name: 'FLUX Kontext' } as INode;

async function outcome(promise: Promise<void>): Promise<{ ms: number; value: unknown }> {
	const start = performance.now();
	const value = await promise.then(
		() => 'resolved',
		(error: unknown) => error,
	);
	return { ms: performance.now() - start, value };
}

describe('sleepUnlessAborted (transport/sleep): one wait for every n8n-workflow', () => {
	it("uses this n8n-workflow's own sleep (2.41 has no sleepWithAbort; its sleep takes the signal)", async () => {
		expect(sleepPrimitive.name).toBe('sleep');
		const stop = new AbortController();
		const reason = new Error('stopped');
		setTimeout(() => stop.abort(reason), 20);
		const { ms, value } = await outcome(sleepUnlessAborted(60_000, stop.signal));
		expect(value).toBe(reason);
		expect(ms).toBeLessThan(10_000);
	});

	it.each([
		['a plain sleep that ignores the signal (n8n 1.100 and older)', plainSleep],
		['sleepWithAbort (n8n 1.101 to 2.33)', sleepWithAbort],
	])('ends at once on abort with %s, rejecting with the signal reason', async (_, primitive) => {
		const stop = new AbortController();
		const reason = new Error('timed out');
		setTimeout(() => stop.abort(reason), 20);
		const { ms, value } = await outcome(sleepUnlessAborted(60_000, stop.signal, primitive));
		expect(value).toBe(reason);
		expect(ms).toBeLessThan(10_000);
	});

	it('rejects at once on a signal already aborted, without starting a timer', async () => {
		const primitive = jest.fn(plainSleep);
		const stop = new AbortController();
		stop.abort('halt');
		expect((await outcome(sleepUnlessAborted(60_000, stop.signal, primitive))).value).toBe('halt');
		expect(primitive).not.toHaveBeenCalled();
	});

	it('waits out its time when nothing aborts, with a signal or without', async () => {
		for (const primitive of [plainSleep, sleepWithAbort]) {
			const signal = new AbortController().signal;
			const early = outcome(sleepUnlessAborted(10, undefined, primitive));
			const late = outcome(sleepUnlessAborted(50, signal, primitive));
			const order: string[] = [];
			await Promise.all([early.then(() => order.push('10')), late.then(() => order.push('50'))]);
			expect(order).toEqual(['10', '50']);
			expect((await late).value).toBe('resolved');
			expect((await late).ms).toBeGreaterThanOrEqual(40);
		}
	});

	it("passes on a primitive's own failure when the signal did not abort", async () => {
		const broken: SleepPrimitive = async () => {
			throw new Error('timer failed');
		};
		const signal = new AbortController().signal;
		const { value } = await outcome(sleepUnlessAborted(10, signal, broken));
		expect((value as Error).message).toBe('timer failed');
	});
});

describe('the core check (helpers/compat)', () => {
	const modernCtx = {
		getExecutionCancelSignal: () => new AbortController().signal,
		getNode: () => node,
	};

	it('finds nothing missing where n8n hands out the execution cancel signal', () => {
		expect(missingCoreFeatures(modernCtx)).toEqual([]);
		expect(() => assertSupportedCore(modernCtx as unknown as IExecuteFunctions)).not.toThrow();
	});

	it('fails the node with a NodeOperationError that names the version to update to', () => {
		let error: unknown;
		try {
			assertSupportedCore({ getNode: () => node } as unknown as IExecuteFunctions);
		} catch (e) {
			error = e;
		}
		expect(error).toBeInstanceOf(NodeOperationError);
		expect((error as Error).message).toBe(
			`FLUX Kontext needs n8n ${LOWEST_SUPPORTED_N8N} or newer: this n8n lacks the execution ` +
				'cancel signal (Stop could not end its waits)',
		);
		expect((error as NodeOperationError).description).toContain(
			`Update n8n to ${LOWEST_SUPPORTED_N8N}`,
		);
	});
});
