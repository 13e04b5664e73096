/**
 * n8n's `database` binary data mode, for the engine harness and the bench.
 *
 * n8n 2.41 uses this mode by default in queue mode (n8n-core's BinaryDataConfig: `database` when
 * EXECUTIONS_MODE=queue). Its manager is not part of n8n-core: it is the CLI's `DatabaseManager`
 * (packages/cli/src/binary-data/database.manager.ts), built on `@n8n/db`'s TypeORM repository, which needs
 * n8n's database and migrations, none of which this project depends on. n8n-core's BinaryDataService only
 * knows it through `setManager('database', ...)`.
 *
 * This stand-in does what that manager does with memory, which is what the measurements depend on:
 * `store` reads the whole stream into one Buffer first (binaryToBuffer), `getAsBuffer` returns a fresh
 * Buffer of the whole file, and `getAsStream` is `Readable.from(<that whole Buffer>)`. The rows live in
 * files under a temporary folder instead of a table (a database keeps them on disk too), so the process
 * does not hold the stored bytes between reads.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Readable } from 'node:stream';

import type * as N8nCore from 'n8n-core';

type Manager = N8nCore.BinaryData.Manager;
type Location = N8nCore.BinaryData.FileLocation;
type Metadata = N8nCore.BinaryData.PreWriteMetadata;

export class DatabaseStandInManager implements Manager {
	private readonly rows = new Map<
		string,
		{ fileName?: string; mimeType?: string; fileSize: number }
	>();

	constructor(
		private readonly folder: string,
		private readonly toBuffer: (body: Buffer | Readable) => Promise<Buffer>,
	) {}

	async init(): Promise<void> {
		await fs.mkdir(this.folder, { recursive: true });
	}

	async store(
		_location: Location,
		bufferOrStream: Buffer | Readable,
		metadata: Metadata,
	): Promise<{ fileId: string; fileSize: number }> {
		const buffer = await this.toBuffer(bufferOrStream);
		const fileId = randomUUID();
		await fs.writeFile(this.file(fileId), buffer);
		this.rows.set(fileId, {
			fileName: metadata.fileName ?? undefined,
			mimeType: metadata.mimeType ?? undefined,
			fileSize: buffer.length,
		});
		return { fileId, fileSize: buffer.length };
	}

	getPath(fileId: string): string {
		return `database://${fileId}`;
	}

	async getAsBuffer(fileId: string): Promise<Buffer> {
		return await fs.readFile(this.file(fileId));
	}

	async getAsStream(fileId: string): Promise<Readable> {
		return Readable.from(await this.getAsBuffer(fileId));
	}

	async getMetadata(
		fileId: string,
	): Promise<{ fileName?: string; mimeType?: string; fileSize: number }> {
		const row = this.rows.get(fileId);
		if (!row) throw new Error(`binary data ${fileId} not found`);
		return { ...row };
	}

	async copyByFileId(_target: Location, sourceFileId: string): Promise<string> {
		const fileId = randomUUID();
		await fs.copyFile(this.file(sourceFileId), this.file(fileId));
		this.rows.set(fileId, { ...(await this.getMetadata(sourceFileId)) });
		return fileId;
	}

	async copyByFilePath(
		target: Location,
		sourcePath: string,
		metadata: Metadata,
	): Promise<{ fileId: string; fileSize: number }> {
		return await this.store(target, await fs.readFile(sourcePath), metadata);
	}

	async rename(oldFileId: string, newFileId: string): Promise<void> {
		await fs.rename(this.file(oldFileId), this.file(newFileId));
		const row = this.rows.get(oldFileId);
		if (row) this.rows.set(newFileId, row);
		this.rows.delete(oldFileId);
	}

	private file(fileId: string): string {
		return path.join(this.folder, fileId);
	}
}
