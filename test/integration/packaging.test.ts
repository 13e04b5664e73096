/**
 * What npm would publish, and what n8n needs to find in it. Runs `npm pack --dry-run` on the built package
 * (the test suite runs after `npm run build`).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { credentialType, nodeDescription, REPO_ROOT } from '../support/engine';

interface PackageJson {
	name: string;
	version: string;
	license?: string;
	keywords?: string[];
	files?: string[];
	dependencies?: Record<string, string>;
	peerDependencies?: Record<string, string>;
	n8n?: { n8nNodesApiVersion?: number; nodes?: string[]; credentials?: string[] };
}

const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as PackageJson;

/** The paths `npm pack` would put in the tarball (without its `package/` prefix). */
function packedFiles(): string[] {
	const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
	const stdout = execFileSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], {
		cwd: REPO_ROOT,
		encoding: 'utf8',
		stdio: ['ignore', 'pipe', 'pipe'],
		env: { ...process.env, npm_config_loglevel: 'error' },
	});
	// npm prints the JSON array; anything before it (a lifecycle banner) is not part of it.
	const [result] = JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{ name: string; version: string; files: Array<{ path: string }> }>;
	expect(result.name).toBe(pkg.name);
	expect(result.version).toBe(pkg.version);
	return result.files.map((file) => file.path).sort();
}

describe('the npm package', () => {
	let files: string[];
	beforeAll(() => {
		files = packedFiles();
	}, 60_000);

	it('contains only the build output, the README, the LICENSE and package.json', () => {
		const extra = files.filter((file) => !file.startsWith('dist/') && !['README.md', 'LICENSE', 'package.json'].includes(file));
		expect(extra).toEqual([]);
		expect(files).toEqual(expect.arrayContaining(['README.md', 'LICENSE', 'package.json']));
		// npm adds no CHANGELOG on its own, and `files` does not list it: the changelog lives in the repository.
		expect(files).not.toContain('CHANGELOG.md');
	});

	it('ships the built node and credential and nothing else from the repository: no sources, tests or examples', () => {
		const dist = files.filter((file) => file.startsWith('dist/'));
		expect(dist.every((file) => file.startsWith('dist/nodes/FluxKontext/') || file.startsWith('dist/credentials/'))).toBe(true);
		expect(dist.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))).toEqual([]);
		expect(files.filter((file) => /(^|\/)(test|tests|examples|scripts|node_modules)\//.test(file))).toEqual([]);
		// Every file in dist/ is packed (the build leaves nothing that npm would skip).
		const built: string[] = [];
		const walk = (dir: string) => {
			for (const entry of fs.readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true })) {
				const relative = `${dir}/${entry.name}`;
				if (entry.isDirectory()) walk(relative);
				else built.push(relative);
			}
		};
		walk('dist');
		expect(dist).toEqual(built.sort());
	});

	it('contains every file package.json\'s n8n block names, both icons and the codex file', () => {
		const named = [...(pkg.n8n?.nodes ?? []), ...(pkg.n8n?.credentials ?? [])];
		expect(named.length).toBe(2);
		for (const file of named) expect(files).toContain(file);
		for (const icon of ['fluxKontext.svg', 'fluxKontext.dark.svg']) {
			expect(files).toContain(`dist/nodes/FluxKontext/${icon}`);
			expect(files).toContain(`dist/credentials/${icon}`);
		}
		expect(files).toContain('dist/nodes/FluxKontext/FluxKontext.node.json');
	});

	it('package.json: community node keyword, MIT, no runtime dependencies, n8n-workflow as peer, the n8n block', () => {
		expect(pkg.name).toBe('n8n-nodes-flux-kontext');
		expect(pkg.keywords).toContain('n8n-community-node-package');
		expect(pkg.license).toBe('MIT');
		expect(pkg.dependencies).toBeUndefined();
		expect(pkg.peerDependencies).toEqual({ 'n8n-workflow': '*' });
		expect(pkg.n8n).toEqual({
			n8nNodesApiVersion: 1,
			credentials: ['dist/credentials/FluxKontextApi.credentials.js'],
			nodes: ['dist/nodes/FluxKontext/FluxKontext.node.js'],
		});
	});

	it('LICENSE is the MIT license of the package\'s contributors', () => {
		const license = fs.readFileSync(path.join(REPO_ROOT, 'LICENSE'), 'utf8');
		expect(license).toMatch(/^MIT License\n\nCopyright \(c\) 2026 n8n-nodes-flux-kontext contributors\n/);
		expect(license).toContain('Permission is hereby granted, free of charge');
	});
});

describe('what n8n shows of the node', () => {
	it('the codex file names the node, its categories and documentation links', () => {
		const codex = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'dist/nodes/FluxKontext/FluxKontext.node.json'), 'utf8')) as {
			node: string;
			nodeVersion: string;
			codexVersion: string;
			categories: string[];
			resources: { primaryDocumentation?: Array<{ url: string }>; credentialDocumentation?: Array<{ url: string }> };
		};
		expect(codex.node).toBe('n8n-nodes-flux-kontext.fluxKontext');
		expect(codex.nodeVersion).toBe('1.0');
		expect(codex.codexVersion).toBe('1.0');
		expect(codex.categories.length).toBeGreaterThan(0);
		const links = [...(codex.resources.primaryDocumentation ?? []), ...(codex.resources.credentialDocumentation ?? [])];
		expect(codex.resources.primaryDocumentation?.length).toBeGreaterThan(0);
		expect(codex.resources.credentialDocumentation?.length).toBeGreaterThan(0);
		for (const link of links) expect(link.url).toMatch(/^https:\/\/\S+$/);
	});

	it('the node is usable as a tool and has light and dark icons, which n8n\'s loader finds in the package', async () => {
		const description = await nodeDescription();
		expect(description.usableAsTool).toBe(true);
		// As written in the node: one icon per theme.
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const { FluxKontext } = require(path.join(REPO_ROOT, 'dist/nodes/FluxKontext/FluxKontext.node.js'));
		expect(new FluxKontext().description.icon).toEqual({ light: 'file:fluxKontext.svg', dark: 'file:fluxKontext.dark.svg' });
		// As n8n serves them: the loader turns `file:` icons into URLs of files that must exist in the package.
		const credential = await credentialType();
		for (const described of [description, credential]) {
			const { iconUrl } = described as { iconUrl?: { light: string; dark: string } };
			expect(iconUrl).toEqual({ light: expect.stringMatching(/\/fluxKontext\.svg$/), dark: expect.stringMatching(/\/fluxKontext\.dark\.svg$/) });
			for (const url of Object.values(iconUrl!)) {
				const file = url.replace(/^icons\/n8n-nodes-flux-kontext\//, '');
				expect(fs.readFileSync(path.join(REPO_ROOT, file), 'utf8')).toMatch(/<svg[\s>]/);
			}
		}
	});
});
