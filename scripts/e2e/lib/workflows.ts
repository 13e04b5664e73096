/** What the e2e run and the screenshots script import into n8n: the examples, the credentials, the package. */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { VALID_TOKEN } from '../../../test/support/fake-fal';
import { findRepoRoot, NODE_TYPE } from '../../lib/repo';
import { runToEnd } from './processes';

export const REPO = findRepoRoot();
const EXAMPLES_DIR = path.join(REPO, 'examples');

export interface WorkflowFile {
	id?: string;
	name: string;
	nodes: Array<{
		name: string;
		type: string;
		parameters: Record<string, unknown>;
		credentials?: Record<string, { id: string; name: string }>;
	}>;
	connections: Record<string, unknown>;
	settings?: Record<string, unknown>;
}

/** The shipped examples by file name (without .json), unchanged. */
export const examples: Record<string, WorkflowFile> = Object.fromEntries(
	fs
		.readdirSync(EXAMPLES_DIR)
		.filter((file) => file.endsWith('.json'))
		.sort()
		.map((file) => [
			file.replace(/\.json$/, ''),
			JSON.parse(fs.readFileSync(path.join(EXAMPLES_DIR, file), 'utf8')) as WorkflowFile,
		]),
);
export const ours = (type: string) => type === NODE_TYPE || type === `${NODE_TYPE}Tool`;
export const nodeOf = (
	workflow: WorkflowFile,
	predicate: (node: WorkflowFile['nodes'][number]) => boolean,
) => {
	const node = workflow.nodes.find(predicate);
	if (!node) throw new Error(`${workflow.name}: no such node`);
	return node;
};
/** Imported copies get an id (n8n 2.41's import:workflow needs one); nothing else changes. */
export const workflowIds = new Map<string, string>();
export function withId(key: string, workflow: WorkflowFile): WorkflowFile {
	const id = `e2e${key.replace(/[^A-Za-z0-9]/g, '')}`.slice(0, 16).padEnd(16, '0');
	workflowIds.set(key, id);
	return { ...workflow, id };
}

/** The credentials the examples name, pointed at the fake fal server and the scripted chat model. */
export function e2eCredentials(falUrl: string, openAiUrl: string): unknown[] {
	return [
		{
			id: 'e2eFluxCred00001',
			name: 'FLUX Kontext account',
			type: 'fluxKontextApi',
			data: { apiKey: VALID_TOKEN, baseUrl: falUrl, authScheme: 'key' },
		},
		{
			id: 'e2eOpenAiCred001',
			name: 'OpenAI account',
			type: 'openAiApi',
			data: { apiKey: 'sk-e2e-fake-key', url: openAiUrl },
		},
	];
}

/** `npm pack` of the repository (built already) into `folder`; the tarball's path. */
export function packPackage(runRoot: string): string {
	const out = runToEnd('npm', ['pack', '--json', '--pack-destination', runRoot], { cwd: REPO });
	const [result] = JSON.parse(out.slice(out.indexOf('['))) as Array<{ filename: string }>;
	return path.join(runRoot, result.filename);
}
