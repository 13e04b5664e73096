/**
 * Child processes of the e2e run: each in its own process group, its output kept in a log file and in
 * memory, and every one of them stopped when the run ends, fails or is interrupted (Ctrl-C, SIGTERM). Should
 * the run itself be killed outright (SIGKILL), the kernel kills them too (util-linux `setpriv --pdeathsig`).
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';

export interface Proc {
	name: string;
	child: ChildProcess;
	/** Everything it wrote to stdout and stderr so far. */
	output(): string;
	/** Resolves with the exit code (or signal) once it has exited. */
	exited: Promise<string>;
	/** SIGTERM to its process group, SIGKILL after `graceMs`; resolves when it has exited. */
	stop(graceMs?: number): Promise<void>;
}

const running = new Set<Proc>();

/** Starts `command` in a process group of its own, logging to `logFile`. */
export function start(
	name: string,
	command: string,
	args: string[],
	options: SpawnOptions & { logFile: string },
): Proc {
	const log = fs.createWriteStream(options.logFile, { flags: 'a' });
	const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', command, ...args], {
		...options,
		detached: true,
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	let text = '';
	for (const stream of [child.stdout, child.stderr]) {
		stream?.on('data', (chunk: Buffer) => {
			text += chunk.toString();
			log.write(chunk);
		});
	}
	const exited = new Promise<string>((resolve) => {
		child.once('exit', (code, signal) => {
			log.end();
			resolve(signal ?? String(code));
		});
		child.once('error', (error) => {
			log.end();
			resolve(`error: ${error.message}`);
		});
	});
	const proc: Proc = {
		name,
		child,
		output: () => text,
		exited,
		async stop(graceMs = 15_000) {
			if (child.exitCode === null && child.signalCode === null && child.pid) {
				signalGroup(child.pid, 'SIGTERM');
				const timer = setTimeout(() => signalGroup(child.pid!, 'SIGKILL'), graceMs);
				await exited;
				clearTimeout(timer);
			}
			// Whatever it left behind in its group (n8n's task runner, a shell's children).
			if (child.pid) signalGroup(child.pid, 'SIGKILL');
			running.delete(proc);
		},
	};
	running.add(proc);
	void exited.then(() => running.delete(proc));
	return proc;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
	try {
		process.kill(-pid, signal);
	} catch {
		// already gone
	}
}

/** Stops every process this run started that still runs, in reverse order of start. */
export async function stopAll(): Promise<void> {
	for (const proc of [...running].reverse()) await proc.stop();
}

/** On Ctrl-C or SIGTERM: stop everything, then exit non-zero. On a plain exit: kill what is left at once. */
export function stopAllOnExit(): void {
	// A reader of our output that went away (a pipe closed by Ctrl-C) must not stop the clean-up.
	for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
	for (const signal of ['SIGINT', 'SIGTERM'] as const) {
		process.once(signal, () => {
			process.stdout.write(`\n${signal}: stopping every process this run started\n`);
			void stopAll().finally(() => process.exit(130));
		});
	}
	process.once('exit', () => {
		for (const proc of running) if (proc.child.pid) signalGroup(proc.child.pid, 'SIGKILL');
	});
}

/** A TCP port nothing listens on now (the OS picks it). */
export async function freePort(): Promise<number> {
	return await new Promise((resolve, reject) => {
		const server = net.createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const { port } = server.address() as net.AddressInfo;
			server.close(() => resolve(port));
		});
	});
}

/** Runs a command to its end; throws with its output if it fails. */
export function runToEnd(
	command: string,
	args: string[],
	options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): string {
	const result = spawnSync(command, args, {
		encoding: 'utf8',
		timeout: options.timeoutMs ?? 600_000,
		cwd: options.cwd,
		env: options.env,
		maxBuffer: 64 * 1024 * 1024,
	});
	if (result.status !== 0) {
		throw new Error(
			`${command} ${args.join(' ')} failed (${result.error?.message ?? `exit ${result.status}`}):\n${result.stdout}\n${result.stderr}`.trim(),
		);
	}
	return result.stdout;
}

/** Polls `probe` until it returns a value (not undefined), or throws after `timeoutMs`. */
export async function until<T>(
	what: string,
	probe: () => Promise<T | undefined> | T | undefined,
	timeoutMs: number,
	everyMs = 250,
): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	let lastError: unknown;
	for (;;) {
		try {
			const value = await probe();
			if (value !== undefined) return value;
		} catch (error) {
			lastError = error;
		}
		if (Date.now() > deadline) {
			throw new Error(
				`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`,
			);
		}
		await new Promise((resolve) => setTimeout(resolve, everyMs));
	}
}
