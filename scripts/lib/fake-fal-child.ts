/**
 * The fake fal server (`scripts/fake-fal-process.ts`, compiled) in a child process, driven over IPC,
 * so that its work does not count in measurements of the process that runs n8n and the node.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

import type { FakeFalOptions } from '../../test/support/fake-fal';

/** What can cross IPC: the fake's plain options, and a fixed job timing instead of a function. */
export type ChildFakeFalOptions = Omit<FakeFalOptions, 'timing'> & {
	queueMs?: number;
	runMs?: number;
};

export type ToChild =
	| { type: 'start'; options: ChildFakeFalOptions }
	| { type: 'stats' }
	| { type: 'reset' }
	| { type: 'stop' };
export type FromChild =
	| { type: 'alive' }
	| { type: 'ready'; url: string; cdnUrl: string; storageUrl: string }
	| { type: 'stats'; jobs: number; requests: Record<string, number> }
	| { type: 'reset' };

export interface FakeFalChild {
	pid: number;
	/** The server's queue URL and CDN URL, once `start` has answered. */
	url: string;
	cdnUrl: string;
	/** fal's REST host (storage API) of the fake. */
	storageUrl: string;
	/** (Re)starts the server in the child with these options; updates `url` and `cdnUrl`. */
	start(
		options?: ChildFakeFalOptions,
	): Promise<{ url: string; cdnUrl: string; storageUrl: string }>;
	/** Jobs submitted and requests received (queue + CDN) by kind, since start or the last reset. */
	stats(): Promise<{ jobs: number; requests: Record<string, number> }>;
	reset(): Promise<void>;
	/** Stops the server and waits for the child to exit (killing it if it has not within 3 s). */
	stop(): Promise<void>;
}

/**
 * Forks the child (loading its modules at once, so a later rebuild of `.build/` cannot break it) and
 * starts a server with `options` unless they are `null`.
 */
export async function startFakeFalChild(
	options: ChildFakeFalOptions | null = {},
): Promise<FakeFalChild> {
	// Compiled next to this folder: .build/scripts/fake-fal-process.js
	const script = path.join(__dirname, '..', 'fake-fal-process.js');
	const child: ChildProcess = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
	const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
	const killOnExit = () => child.kill('SIGKILL');
	process.once('exit', killOnExit);

	const next = <T extends FromChild['type']>(
		type: T,
		timeoutMs = 10_000,
	): Promise<Extract<FromChild, { type: T }>> =>
		new Promise((resolve, reject) => {
			const timer = setTimeout(() => {
				cleanup();
				reject(new Error(`fake fal child: no '${type}' answer in ${timeoutMs} ms`));
			}, timeoutMs);
			const onMessage = (message: FromChild) => {
				if (message.type !== type) return;
				cleanup();
				resolve(message as Extract<FromChild, { type: T }>);
			};
			const onExit = (code: number | null) => {
				cleanup();
				reject(new Error(`fake fal child exited (code ${code}) before '${type}'`));
			};
			const cleanup = () => {
				clearTimeout(timer);
				child.off('message', onMessage);
				child.off('exit', onExit);
			};
			child.on('message', onMessage);
			child.once('exit', onExit);
		});
	const ask = async <T extends FromChild['type']>(message: ToChild, answer: T) => {
		const reply = next(answer);
		child.send(message);
		return await reply;
	};

	await next('alive');
	const handle: FakeFalChild = {
		pid: child.pid ?? -1,
		url: '',
		cdnUrl: '',
		storageUrl: '',
		async start(opts: ChildFakeFalOptions = {}) {
			const { url, cdnUrl, storageUrl } = await ask({ type: 'start', options: opts }, 'ready');
			Object.assign(handle, { url, cdnUrl, storageUrl });
			return { url, cdnUrl, storageUrl };
		},
		async stats() {
			const { jobs, requests } = await ask({ type: 'stats' }, 'stats');
			return { jobs, requests };
		},
		async reset() {
			await ask({ type: 'reset' }, 'reset');
		},
		async stop() {
			if (child.exitCode === null && child.signalCode === null) {
				if (child.connected) child.send({ type: 'stop' });
				const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
				await exited;
				clearTimeout(timer);
			}
			process.off('exit', killOnExit);
		},
	};
	if (options) await handle.start(options);
	return handle;
}
