import type { IExecuteFunctions, INode } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import {
	assertSupportedCore,
	LOWEST_SUPPORTED_N8N,
	missingCoreFeatures,
} from '../../nodes/FluxKontext/helpers/compat';

/** n8n-workflow's sleep before 2.34: one parameter, the signal is ignored. */
const oldSleep = async (ms: number) =>
	await new Promise<void>((resolve) => setTimeout(resolve, ms));
const node = { name: 'FLUX Kontext' } as INode;
const modernCtx = {
	getExecutionCancelSignal: () => new AbortController().signal,
	getNode: () => node,
};

describe('the core check (helpers/compat)', () => {
	it('finds nothing missing in the n8n-workflow the tests run with (2.41)', async () => {
		expect(await missingCoreFeatures(modernCtx)).toEqual([]);
		await expect(
			assertSupportedCore(modernCtx as unknown as IExecuteFunctions),
		).resolves.toBeUndefined();
	});

	it('names what an older core lacks: a sleep that ignores its signal, no cancel signal', async () => {
		expect(await missingCoreFeatures(modernCtx, oldSleep)).toEqual([
			'waits that Stop can interrupt',
		]);
		expect(
			await missingCoreFeatures({} as Pick<IExecuteFunctions, 'getExecutionCancelSignal'>),
		).toEqual(['the execution cancel signal']);
	});

	it('fails the node with a NodeOperationError that names the version to update to', async () => {
		const error = await assertSupportedCore({
			getNode: () => node,
		} as unknown as IExecuteFunctions).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(NodeOperationError);
		expect((error as Error).message).toBe(
			`FLUX Kontext needs n8n ${LOWEST_SUPPORTED_N8N} or newer: this n8n lacks the execution cancel signal`,
		);
		expect((error as NodeOperationError).description).toContain(
			`Update n8n to ${LOWEST_SUPPORTED_N8N}`,
		);
	});
});
