/**
 * The fake fal server in a process of its own, for measurements that must not count its work
 * (CPU time, memory of the process running n8n). Forked by `lib/fake-fal-child.ts`; IPC:
 *
 *   → { type: 'alive' }                              once loaded
 *   ← { type: 'start', options: ChildFakeFalOptions } (re)starts the server → { type: 'ready', url, cdnUrl, storageUrl }
 *   ← { type: 'stats' } → { type: 'stats', jobs, requests: { kind: count } }   (queue + CDN)
 *   ← { type: 'reset' } → { type: 'reset' }
 *   ← { type: 'stop' }  stops the server and exits (so does a disconnect from the parent)
 */
import { FakeFal } from '../test/support/fake-fal';
import type { ChildFakeFalOptions, FromChild, ToChild } from './lib/fake-fal-child';

let fal: FakeFal | undefined;
const send = (message: FromChild) => process.send?.(message);

async function start({ queueMs = 0, runMs = 0, ...rest }: ChildFakeFalOptions): Promise<void> {
	await fal?.stop();
	fal = await FakeFal.start({ ...rest, timing: () => ({ queueMs, runMs }) });
	send({ type: 'ready', url: fal.url, cdnUrl: fal.cdnUrl, storageUrl: fal.storageUrl });
}

async function stop(): Promise<never> {
	await fal?.stop();
	process.exit(0);
}

process.on('message', (message: ToChild) => {
	if (message.type === 'start') {
		start(message.options).catch((error) => {
			console.error('fake fal process:', error);
			process.exit(1);
		});
	} else if (message.type === 'stats') {
		const requests: Record<string, number> = {};
		for (const r of [
			...(fal?.requests ?? []),
			...(fal?.cdnRequests ?? []),
			...(fal?.storageRequests ?? []),
		])
			requests[r.kind] = (requests[r.kind] ?? 0) + 1;
		send({ type: 'stats', jobs: fal?.jobs.size ?? 0, requests });
	} else if (message.type === 'reset') {
		fal?.reset();
		send({ type: 'reset' });
	} else if (message.type === 'stop') {
		void stop();
	}
});
// The parent went away (exited, crashed): do not linger.
process.on('disconnect', () => void stop());
send({ type: 'alive' });
