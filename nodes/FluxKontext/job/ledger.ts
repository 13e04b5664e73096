import type { JobHandle } from './handle';

/**
 * What a cancel achieved: fal's answer (`CANCELLATION_REQUESTED`, `ALREADY_COMPLETED`,
 * `NOT_FOUND`), or why it is unknown.
 */
export type CancelOutcome = { answer: string } | { unconfirmed: string };

/** What became of a job this execution submitted, in the terms a user reconciling a bill needs. */
export type Fate =
	| { state: 'running' }
	| { state: 'finished' }
	| { state: 'failed'; reason: string }
	| { state: 'handedOff' }
	| { state: 'leftRunning'; reason: string }
	| { state: 'cancelled'; outcome: CancelOutcome }
	| { state: 'maybeQueued'; reason: string };

/** A cancel's outcome in words, completing "the job ..." or "; ...". */
export function cancelOutcomeText(outcome: CancelOutcome): string {
	if ('unconfirmed' in outcome)
		return (
			`the cancel could not be confirmed (${outcome.unconfirmed}): check the job with Get ` +
			`Status`
		);
	switch (outcome.answer) {
		case 'CANCELLATION_REQUESTED':
			return (
				'the job was cancelled at fal (if it had already started, it may still finish and ' +
				'be billed)'
			);
		case 'ALREADY_COMPLETED':
			return 'the job had already finished at fal and is billed: fetch its result with Get Result';
		case 'NOT_FOUND':
			return 'fal no longer knows the job (NOT_FOUND)';
		default:
			return `fal answered the cancel with ${outcome.answer}`;
	}
}

function fateText(fate: Fate): string {
	switch (fate.state) {
		case 'running':
			return 'still queued or running at fal when the node ended: check it with Get Status';
		case 'finished':
			return 'finished (billed)';
		case 'failed':
			return `ended with an error at fal (${fate.reason})`;
		case 'handedOff':
			return 'handed off: follow it with Get Status or Get Result';
		case 'leftRunning':
			return `left running at fal (${fate.reason}): fetch it later with Get Result`;
		case 'cancelled':
			return cancelOutcomeText(fate.outcome);
		case 'maybeQueued':
			return (
				`its submit failed in a way that may have queued a job (${fate.reason}): look for ` +
				`it in fal's request list (fal.ai/dashboard)`
			);
	}
}

/**
 * Every job this execution submitted and what became of it, so that a failed, stopped or timed-out
 * run still accounts for each paid job by request id.
 */
export class Ledger {
	private readonly entries = new Map<string, { itemIndex: number; fate: Fate }>();

	add(itemIndex: number, handle: JobHandle): void {
		this.entries.set(handle.request_id, { itemIndex, fate: { state: 'running' } });
	}

	/**
	 * A submit that failed but may have queued a job: listed by its request id when the answer named
	 * one.
	 */
	addUncertain(itemIndex: number, requestId: string | undefined, reason: string): void {
		this.entries.set(requestId ?? `(unknown) of item ${itemIndex + 1}`, {
			itemIndex,
			fate: { state: 'maybeQueued', reason },
		});
	}

	/**
	 * Records a job's fate; jobs this execution did not submit (Get Result of an older one) are not
	 * listed.
	 */
	settle(requestId: string, fate: Fate): void {
		const entry = this.entries.get(requestId);
		if (entry) entry.fate = fate;
	}

	has(requestId: string): boolean {
		return this.entries.has(requestId);
	}

	get size(): number {
		return this.entries.size;
	}

	/** One line per job, in item order: "item 3, request <id>: finished (billed)". */
	describe(): string {
		const lines = [...this.entries]
			.sort(([, a], [, b]) => a.itemIndex - b.itemIndex)
			.map(
				([id, { itemIndex, fate }]) => `- item ${itemIndex + 1}, request ${id}: ${fateText(fate)}`,
			);
		return `Jobs this execution submitted (${lines.length}):\n${lines.join('\n')}`;
	}
}
