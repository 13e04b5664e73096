/**
 * Runs `task(index)` for every index in 0..count-1, at most `limit` at a time, and returns the
 * results in index order whatever order they finish in. Stops starting new tasks once `stop()` says
 * so (a failed batch, a stopped execution); tasks not started resolve to undefined.
 */
export async function mapWithConcurrency<T>(
	count: number,
	limit: number,
	task: (index: number) => Promise<T>,
	stop: () => boolean = () => false,
): Promise<Array<T | undefined>> {
	const results: Array<T | undefined> = new Array(count).fill(undefined);
	let next = 0;
	const worker = async () => {
		while (next < count && !stop()) {
			const index = next++;
			results[index] = await task(index);
		}
	};
	await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, count)) }, worker));
	return results;
}
