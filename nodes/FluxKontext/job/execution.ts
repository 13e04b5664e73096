import type { IExecuteFunctions } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import type { FalClient } from '../transport';
import { anySignal } from '../transport/signals';
import type { ServerTraits } from './follow';
import { Ledger } from './ledger';

/** Why an item's wait ended early. */
export type Interruption = 'stopped' | 'batch' | 'timeout';

/**
 * One run of the node over its input items: the fal client, what was learned about the server, the jobs
 * submitted and their fates, and the one signal that interrupts every item. Items run concurrently; each
 * follows its own job (job/lifecycle.ts).
 */
export class Execution {
	readonly traits: ServerTraits = {};
	readonly ledger = new Ledger();
	/** Run by an AI Agent (n8n runs a usableAsTool node under the type name `<name>Tool`): answer compactly. */
	readonly asTool: boolean;
	/**
	 * Aborts on Stop or on the batch halt. Being a signal, it also holds for whoever looks after the fact: an
	 * item that starts, submits or waits after the halt sees it aborted at once.
	 */
	readonly interrupt: AbortSignal;
	private readonly stop: AbortSignal | undefined;
	private readonly halter = new AbortController();

	constructor(
		readonly ctx: IExecuteFunctions,
		readonly client: FalClient,
	) {
		this.asTool = ctx.getNode().type.endsWith('Tool');
		this.stop = ctx.getExecutionCancelSignal();
		this.interrupt = anySignal(this.stop, this.halter.signal);
	}

	/** True once the execution was stopped or an item failed without Continue On Fail: submit nothing more. */
	get halted(): boolean {
		return this.interrupt.aborted;
	}

	get stopped(): boolean {
		return !!this.stop?.aborted;
	}

	/** Stops the other items: those waiting cancel their jobs, those submitting cancel what they submitted, the rest never submit. */
	halt(): void {
		this.halter.abort(new Error('another item failed'));
	}

	/** Why a signal derived from `interrupt` and an item's Timeout aborted. */
	interruption(): Interruption {
		if (this.stopped) return 'stopped';
		return this.halter.signal.aborted ? 'batch' : 'timeout';
	}

	/**
	 * The error the node fails with: the first item's, its description completed with every job this execution
	 * submitted and what became of it. After a Stop, n8n no longer shows the node's error, so it goes to the log.
	 */
	failure(error: NodeApiError | NodeOperationError): NodeApiError | NodeOperationError {
		if (this.ledger.size > 0) {
			const accounting = this.client.redact(this.ledger.describe());
			error.description = [error.description, accounting].filter(Boolean).join('\n\n');
			if (this.stopped) this.ctx.logger.warn(`FLUX Kontext: the execution was stopped. ${accounting}`);
		}
		return error;
	}
}

/** Any error as an n8n error of this item (fal errors are already NodeApiErrors). */
export function asNodeError(ctx: IExecuteFunctions, error: unknown, itemIndex: number): NodeOperationError | NodeApiError {
	if (error instanceof NodeOperationError || error instanceof NodeApiError) return error;
	return new NodeOperationError(ctx.getNode(), error instanceof Error ? error : String(error), { itemIndex });
}
