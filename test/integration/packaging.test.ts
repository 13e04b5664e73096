/**
 * What npm would publish, and what n8n needs to find in it. The file list is the one `npm publish` builds in a
 * fresh copy of the repository (tracked and new files, no dist/), with lifecycle scripts as the project's own
 * npm config leaves them: `prepublishOnly` must build dist/ there, or npm would publish an empty package.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { Workflow, type INode } from 'n8n-workflow';

import { credentialType, nodeDescription, REPO_ROOT } from '../support/engine';

interface PackageJson {
	name: string;
	version: string;
	main?: string;
	license?: string;
	keywords?: string[];
	files?: string[];
	dependencies?: Record<string, string>;
	peerDependencies?: Record<string, string>;
	n8n?: { n8nNodesApiVersion?: number; strict?: boolean; nodes?: string[]; credentials?: string[] };
}

const pkg = JSON.parse(
	fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'),
) as PackageJson;
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** A copy of the repository as a fresh clone has it (plus uncommitted work), sharing node_modules. */
function freshCopy(): string {
	const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'flux-kontext-publish-'));
	const listed = execFileSync(
		'git',
		['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
		{ cwd: REPO_ROOT, encoding: 'utf8' },
	);
	for (const file of listed.split('\0').filter(Boolean)) {
		if (!fs.existsSync(path.join(REPO_ROOT, file))) continue; // deleted, not yet committed
		fs.mkdirSync(path.dirname(path.join(copy, file)), { recursive: true });
		fs.copyFileSync(path.join(REPO_ROOT, file), path.join(copy, file));
	}
	fs.symlinkSync(
		fs.realpathSync(path.join(REPO_ROOT, 'node_modules')),
		path.join(copy, 'node_modules'),
		'dir',
	);
	return copy;
}

interface DryRun {
	name: string;
	version: string;
	files: Array<{ path: string }>;
}

/**
 * The result that `npm publish --dry-run --json` closes stdout with, after prepublishOnly's output: npm 10
 * prints the object itself (`{"id": ..., "name": ..., "files": [...]}`), npm 11 keys it by the package name
 * (`{"<name>": {...}}`). Both start with a line that is only `{`.
 */
function dryRunResult(stdout: string): DryRun {
	const lines = stdout.split('\n');
	for (let start = 0; start < lines.length; start++) {
		if (lines[start] !== '{') continue;
		let json: unknown;
		try {
			json = JSON.parse(lines.slice(start).join('\n'));
		} catch {
			continue; // a `{` line in prepublishOnly's output, not the result
		}
		const object = json as Record<string, unknown>;
		const result = (Array.isArray(object.files) ? object : object[pkg.name]) as DryRun | undefined;
		if (result && Array.isArray(result.files)) return result;
		throw new Error(`npm printed JSON that holds no file list:\n${stdout.slice(-2000)}`);
	}
	throw new Error(`no JSON result in npm's output:\n${stdout.slice(-2000)}`);
}

/** The paths `npm publish` would put in the tarball (without its `package/` prefix), from a fresh copy. */
function publishedFiles(): string[] {
	const copy = freshCopy();
	try {
		expect(fs.existsSync(path.join(copy, 'dist'))).toBe(false);
		// The environment of `npm test` must not decide this: only the project's own npm config counts. (jest's
		// NODE_ENV=test also puts eslint-plugin-n8n-nodes-base into its own test mode, which misnames files.)
		const env = Object.fromEntries(
			Object.entries(process.env).filter(
				([key]) => !/^(npm_config_ignore_scripts|NODE_ENV)$/i.test(key),
			),
		);
		// --force: npm 11 asks the registry first and refuses a version that is already published, which
		// would fail this test on every push after a release; forced, it checks nothing there and still
		// packs (and runs prepublishOnly) exactly as a real publish would.
		const stdout = execFileSync(npm, ['publish', '--dry-run', '--force', '--json'], {
			cwd: copy,
			encoding: 'utf8',
			stdio: ['ignore', 'pipe', 'pipe'],
			env: { ...env, npm_config_loglevel: 'error' },
		});
		const result = dryRunResult(stdout);
		expect(result.name).toBe(pkg.name);
		expect(result.version).toBe(pkg.version);
		return result.files.map((file) => file.path).sort();
	} finally {
		fs.rmSync(copy, { recursive: true, force: true });
	}
}

describe("reading npm's dry-run result", () => {
	// What the two npm majors print (shortened), after prepublishOnly's own output.
	const prepublishOutput =
		"[19:50:27] Using gulpfile /tmp/x/gulpfile.js\n[19:50:27] Finished 'build:icons'\n";
	const result = {
		id: `${pkg.name}@${pkg.version}`,
		name: pkg.name,
		version: pkg.version,
		files: [{ path: 'README.md', size: 1, mode: 420 }],
	};

	it('npm 10: the result object itself', () => {
		const stdout = prepublishOutput + JSON.stringify(result, null, 2) + '\n';
		expect(dryRunResult(stdout)).toEqual(result);
	});

	it("npm 11: the result keyed by the package's name", () => {
		const stdout = prepublishOutput + JSON.stringify({ [pkg.name]: result }, null, 2) + '\n';
		expect(dryRunResult(stdout)).toEqual(result);
	});

	it('a `{` line before the result is skipped; output with no file list is an error', () => {
		const stdout = '{\nnot json\n' + JSON.stringify(result, null, 2);
		expect(dryRunResult(stdout)).toEqual(result);
		expect(() => dryRunResult(JSON.stringify({ other: 1 }, null, 2))).toThrow(/no file list/);
		expect(() => dryRunResult('npm error code E403\n')).toThrow(/no JSON result/);
	});
});

describe('the npm package', () => {
	let files: string[];
	beforeAll(() => {
		files = publishedFiles();
	}, 240_000);

	it('contains only the build output, the README, the LICENSE and package.json', () => {
		const extra = files.filter(
			(file) =>
				!file.startsWith('dist/') && !['README.md', 'LICENSE', 'package.json'].includes(file),
		);
		expect(extra).toEqual([]);
		expect(files).toEqual(expect.arrayContaining(['README.md', 'LICENSE', 'package.json']));
		// npm adds no CHANGELOG on its own, and `files` does not list it: the changelog lives in the repository.
		expect(files).not.toContain('CHANGELOG.md');
	});

	it('ships the built node and credential and nothing else from the repository: no sources, tests or examples', () => {
		const dist = files.filter((file) => file.startsWith('dist/'));
		expect(
			dist.every(
				(file) =>
					file.startsWith('dist/nodes/FluxKontext/') ||
					file.startsWith('dist/nodes/FluxKontextTrigger/') ||
					file.startsWith('dist/credentials/'),
			),
		).toBe(true);
		expect(dist.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))).toEqual([]);
		expect(
			files.filter((file) => /(^|\/)(test|tests|examples|scripts|node_modules)\//.test(file)),
		).toEqual([]);
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

	it("contains every file package.json's n8n block names, both icons and the codex file", () => {
		const named = [...(pkg.n8n?.nodes ?? []), ...(pkg.n8n?.credentials ?? [])];
		expect(named.length).toBe(3);
		for (const file of named) expect(files).toContain(file);
		for (const icon of ['fluxKontext.svg', 'fluxKontext.dark.svg']) {
			expect(files).toContain(`dist/nodes/FluxKontext/${icon}`);
			expect(files).toContain(`dist/credentials/${icon}`);
		}
		expect(files).toContain('dist/nodes/FluxKontext/FluxKontext.node.json');
		expect(files).toContain('dist/nodes/FluxKontextTrigger/FluxKontextTrigger.node.json');
	});

	it('ships no source maps and no reference to one (the .ts sources are not shipped)', () => {
		expect(files.filter((file) => file.endsWith('.map'))).toEqual([]);
		for (const file of files.filter((f) => f.endsWith('.js'))) {
			expect({
				file,
				mapped: fs.readFileSync(path.join(REPO_ROOT, file), 'utf8').includes('sourceMappingURL'),
			}).toEqual({ file, mapped: false });
		}
	});

	it('package.json: community node keyword, MIT, no runtime dependencies, n8n-workflow as peer, strict n8n block, no main', () => {
		expect(pkg.name).toBe('n8n-nodes-flux-kontext');
		// n8n loads the files the n8n block names; a `main` naming a file that does not exist only misleads.
		expect(pkg.main).toBeUndefined();
		expect(pkg.keywords).toContain('n8n-community-node-package');
		expect(pkg.license).toBe('MIT');
		expect(pkg.dependencies).toBeUndefined();
		expect(pkg.peerDependencies).toEqual({ 'n8n-workflow': '*' });
		expect(pkg.n8n).toEqual({
			n8nNodesApiVersion: 1,
			strict: true,
			credentials: ['dist/credentials/FluxKontextApi.credentials.js'],
			nodes: [
				'dist/nodes/FluxKontext/FluxKontext.node.js',
				'dist/nodes/FluxKontextTrigger/FluxKontextTrigger.node.js',
			],
		});
	});

	it("LICENSE is the MIT license of the package's contributors", () => {
		const license = fs.readFileSync(path.join(REPO_ROOT, 'LICENSE'), 'utf8');
		expect(license).toMatch(
			/^MIT License\n\nCopyright \(c\) 2026 n8n-nodes-flux-kontext contributors\n/,
		);
		expect(license).toContain('Permission is hereby granted, free of charge');
	});
});

describe('what n8n shows of the node', () => {
	it("the canvas subtitle is the operation's display name", async () => {
		const description = await nodeDescription();
		const subtitleOf = (parameters: Record<string, string>) => {
			const node: INode = {
				id: '1',
				name: 'FLUX Kontext',
				type: 'n8n-nodes-flux-kontext.fluxKontext',
				typeVersion: 1,
				position: [0, 0],
				parameters,
			};
			const nodeTypes = {
				getByName: () => ({ description }),
				getByNameAndVersion: () => ({ description }),
				getKnownTypes: () => ({}),
			};
			const workflow = new Workflow({
				nodes: [node],
				connections: {},
				active: false,
				nodeTypes: nodeTypes as never,
			});
			return workflow.expression.getSimpleParameterValue(
				node,
				description.subtitle as string,
				'internal',
				{},
			);
		};
		expect(subtitleOf({ resource: 'image', operation: 'edit' })).toBe('Edit');
		expect(subtitleOf({ resource: 'image', operation: 'textToImage' })).toBe('Text to Image');
		expect(subtitleOf({ resource: 'request', operation: 'getResult' })).toBe('Get Result');
		expect(subtitleOf({ resource: 'request', operation: 'getStatus' })).toBe('Get Status');
		expect(subtitleOf({ resource: 'request', operation: 'cancel' })).toBe('Cancel');
		expect(subtitleOf({ resource: 'file', operation: 'upload' })).toBe('Upload');
	});

	it.each([
		['FluxKontext', 'fluxKontext'],
		['FluxKontextTrigger', 'fluxKontextTrigger'],
	])('the codex file of %s names the node, its categories and documentation links', (dir, name) => {
		const codex = JSON.parse(
			fs.readFileSync(path.join(REPO_ROOT, `dist/nodes/${dir}/${dir}.node.json`), 'utf8'),
		) as {
			node: string;
			nodeVersion: string;
			codexVersion: string;
			categories: string[];
			resources: {
				primaryDocumentation?: Array<{ url: string }>;
				credentialDocumentation?: Array<{ url: string }>;
			};
		};
		expect(codex.node).toBe(`n8n-nodes-flux-kontext.${name}`);
		expect(codex.nodeVersion).toBe('1.0');
		expect(codex.codexVersion).toBe('1.0');
		expect(codex.categories.length).toBeGreaterThan(0);
		const links = [
			...(codex.resources.primaryDocumentation ?? []),
			...(codex.resources.credentialDocumentation ?? []),
		];
		expect(codex.resources.primaryDocumentation?.length).toBeGreaterThan(0);
		expect(codex.resources.credentialDocumentation?.length).toBeGreaterThan(0);
		for (const link of links) expect(link.url).toMatch(/^https:\/\/\S+$/);
	});

	it("the node is usable as a tool and has light and dark icons, which n8n's loader finds in the package", async () => {
		const description = await nodeDescription();
		expect(description.usableAsTool).toBe(true);
		// As written in the node: one icon per theme.
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const { FluxKontext } = require(
			path.join(REPO_ROOT, 'dist/nodes/FluxKontext/FluxKontext.node.js'),
		);
		expect(new FluxKontext().description.icon).toEqual({
			light: 'file:fluxKontext.svg',
			dark: 'file:fluxKontext.dark.svg',
		});
		// As n8n serves them: the loader turns `file:` icons into URLs of files that must exist in the package.
		// The trigger shows the same icons, from the action node's folder.
		const credential = await credentialType();
		const trigger = await nodeDescription('n8n-nodes-flux-kontext.fluxKontextTrigger');
		for (const described of [description, credential, trigger]) {
			const { iconUrl } = described as { iconUrl?: { light: string; dark: string } };
			expect(iconUrl).toEqual({
				light: expect.stringMatching(/\/fluxKontext\.svg$/),
				dark: expect.stringMatching(/\/fluxKontext\.dark\.svg$/),
			});
			for (const url of Object.values(iconUrl!)) {
				const file = url.replace(/^icons\/n8n-nodes-flux-kontext\//, '');
				expect(fs.readFileSync(path.join(REPO_ROOT, file), 'utf8')).toMatch(/<svg[\s>]/);
			}
		}
	});
});
