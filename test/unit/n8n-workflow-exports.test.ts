/**
 * The package must load in every n8n it supports: a value it imports from n8n-workflow and an older
 * n8n-workflow lacks would be undefined there, and reading it when the module loads (as the node's
 * description reads `NodeConnectionTypes.Main`) fails the whole node. So every name the built code
 * (dist/) reads off n8n-workflow must be exported by the n8n-workflow of the oldest supported n8n
 * and by today's. The oldest one's export list is vendored in test/support/n8n-workflow-exports.json
 * (tests have no network); `node scripts/n8n-workflow-exports.js` regenerates it from the registry.
 * What only some versions export (sleepWithAbort) is looked up by name and checked for presence
 * (transport/sleep.ts), never imported.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import * as installedWorkflow from 'n8n-workflow';

import { LOWEST_SUPPORTED_N8N } from '../../nodes/FluxKontext/helpers/compat';

const REPO_ROOT = path.join(__dirname, '..', '..');
const vendored = JSON.parse(
	fs.readFileSync(path.join(REPO_ROOT, 'test/support/n8n-workflow-exports.json'), 'utf8'),
) as { n8n: string; 'n8n-workflow': string; exports: string[] };

function jsFiles(dir: string): string[] {
	return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
		const full = path.join(dir, entry.name);
		if (entry.isDirectory()) return jsFiles(full);
		return entry.name.endsWith('.js') ? [full] : [];
	});
}

/** Per file of dist/, the names it reads off n8n-workflow (`<binding>.<name>`). */
function valueImports(): Map<string, Set<string>> {
	const found = new Map<string, Set<string>>();
	for (const file of jsFiles(path.join(REPO_ROOT, 'dist'))) {
		const code = fs.readFileSync(file, 'utf8');
		const requires = code.match(/require\("n8n-workflow"\)/g) ?? [];
		const bindings = [
			...code.matchAll(
				/(?:const|let|var)\s+(\w+)\s*=\s*(?:__importStar\()?require\("n8n-workflow"\)\)?;/g,
			),
		].map((m) => m[1]);
		// Any other way of requiring it would hide its reads from this test.
		expect({ file, bindings: bindings.length }).toEqual({ file, bindings: requires.length });
		for (const binding of bindings) {
			const names = found.get(file) ?? new Set<string>();
			for (const m of code.matchAll(new RegExp(`\\b${binding}\\.(\\w+)`, 'g'))) names.add(m[1]);
			found.set(file, names);
		}
	}
	return found;
}

describe('values imported from n8n-workflow (dist/)', () => {
	let imports = new Map<string, Set<string>>();
	let all: string[] = [];
	beforeAll(() => {
		imports = valueImports();
		all = [...imports.values()].flatMap((names) => [...names]);
	});

	it('finds the imports it is meant to check', () => {
		// A scan that found nothing would pass everything.
		expect(all).toEqual(
			expect.arrayContaining([
				'NodeConnectionTypes',
				'NodeApiError',
				'NodeOperationError',
				'sleep',
			]),
		);
	});

	it(`are all exported by the oldest supported n8n's n8n-workflow (n8n ${LOWEST_SUPPORTED_N8N})`, () => {
		// The vendored list is the floor's: a new floor needs the script run again.
		expect(vendored.n8n).toBe(LOWEST_SUPPORTED_N8N);
		const exported = new Set(vendored.exports);
		expect(exported.size).toBeGreaterThan(100);
		const missing = [...imports].flatMap(([file, names]) =>
			[...names]
				.filter((name) => !exported.has(name))
				.map((name) => `${path.relative(REPO_ROOT, file)}: ${name}`),
		);
		expect(missing).toEqual([]);
	});

	it("are all exported by today's n8n-workflow (the dev dependency)", () => {
		const exported = new Set(Object.keys(installedWorkflow));
		expect(all.filter((name) => !exported.has(name))).toEqual([]);
	});

	it('leave out what only some versions export: the old list has no sleepWithAbort, 2.41 neither', () => {
		// The reason transport/sleep.ts looks it up by name; if either list had it, this test would
		// no longer show that the lookup is needed.
		expect(vendored.exports).not.toContain('sleepWithAbort');
		expect(Object.keys(installedWorkflow)).not.toContain('sleepWithAbort');
		expect(all).not.toContain('sleepWithAbort');
	});
});
