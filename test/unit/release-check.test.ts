/**
 * scripts/check-release.js, publish.yml's first step, run as the workflow runs it: in a folder holding a
 * package.json, with GitHub's variables, npm's version as its argument.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const SCRIPT = path.resolve(__dirname, '..', '..', 'scripts/check-release.js');
const REPO = 'octo-org/n8n-nodes-flux-kontext';
const good = {
	name: 'n8n-nodes-flux-kontext',
	version: '1.2.3',
	homepage: `https://github.com/${REPO}#readme`,
	repository: { type: 'git', url: `git+https://github.com/${REPO}.git` },
};

let dir: string;
beforeEach(() => {
	dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flux-kontext-release-check-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function check(
	pkg: Record<string, unknown>,
	{ tag = 'v1.2.3', repository = REPO, npm = '11.6.2' } = {},
): { status: number | null; stdout: string; stderr: string; output: string } {
	fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pkg));
	const outputFile = path.join(dir, 'github-output');
	fs.writeFileSync(outputFile, '');
	const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, GITHUB_OUTPUT: outputFile };
	if (tag) env.GITHUB_REF_NAME = tag;
	if (repository) env.GITHUB_REPOSITORY = repository;
	const result = spawnSync(process.execPath, [SCRIPT, npm], { cwd: dir, env, encoding: 'utf8' });
	return { ...result, output: fs.readFileSync(outputFile, 'utf8') };
}

describe("publish.yml's release check", () => {
	it('passes a release from its repository and sets the dist-tag latest', () => {
		const result = check(good);
		expect(result.stderr).toContain('n8n-nodes-flux-kontext@1.2.3');
		expect(result.status).toBe(0);
		expect(result.stdout.trim()).toBe('dist-tag=latest');
		expect(result.output).toBe('dist-tag=latest\n');
		expect(check(good, { tag: '1.2.3' }).status).toBe(0);
	});

	it('a prerelease version goes under the dist-tag next', () => {
		const result = check({ ...good, version: '1.3.0-beta.1' }, { tag: 'v1.3.0-beta.1' });
		expect(result.status).toBe(0);
		expect(result.output).toBe('dist-tag=next\n');
	});

	it("fails when the tag does not name package.json's version, and says how to fix it", () => {
		const result = check(good, { tag: 'v1.2.4' });
		expect(result.status).toBe(1);
		expect(result.stderr).toContain(
			"the tag 'v1.2.4' does not name package.json's version 1.2.3: tag v1.2.3",
		);
		expect(result.output).toBe('');
	});

	it('fails while repository.url is not the repository running the workflow (the placeholder)', () => {
		const placeholder = 'git+https://github.com/n8n-nodes-flux-kontext/n8n-nodes-flux-kontext.git';
		const result = check({ ...good, repository: { type: 'git', url: placeholder } });
		expect(result.status).toBe(1);
		expect(result.stderr).toContain(
			`package.json's repository.url is '${placeholder}', not this repository (${REPO}): ` +
				`set it to git+https://github.com/${REPO}.git`,
		);
		expect(check({ ...good, repository: undefined }).stderr).toContain("repository.url is ''");
	});

	it('reads every form of a GitHub repository npm accepts', () => {
		for (const url of [
			`git+https://github.com/${REPO}.git`,
			`https://github.com/${REPO}`,
			`https://github.com/${REPO}.git`,
			`git+ssh://git@github.com/${REPO}.git`,
			`git@github.com:${REPO}.git`,
			`github:${REPO}`,
			REPO,
		])
			expect({ url, status: check({ ...good, repository: { type: 'git', url } }).status }).toEqual({
				url,
				status: 0,
			});
		expect(check({ ...good, repository: REPO }).status).toBe(0);
		// Another owner, or a name that only starts the same, is another repository.
		for (const url of [
			`https://github.com/someone/n8n-nodes-flux-kontext`,
			`https://github.com/${REPO}-fork`,
			`https://gitlab.com/${REPO}`,
		])
			expect({ url, status: check({ ...good, repository: { type: 'git', url } }).status }).toEqual({
				url,
				status: 1,
			});
	});

	it('fails when the homepage is a GitHub page of another repository', () => {
		const result = check({ ...good, homepage: 'https://github.com/someone/else#readme' });
		expect(result.status).toBe(1);
		expect(result.stderr).toContain(`set it to https://github.com/${REPO}#readme`);
		expect(check({ ...good, homepage: 'https://example.com/docs' }).status).toBe(0);
	});

	it('fails on an npm older than 11.5.1 (no trusted publishing), outside GitHub, or without npm', () => {
		for (const npm of ['10.9.2', '11.5.0', '10.8.2'])
			expect(check(good, { npm }).stderr).toContain(`npm ${npm} cannot use trusted publishing`);
		expect(check(good, { npm: '11.5.1' }).status).toBe(0);
		expect(check(good, { npm: '12.0.0' }).status).toBe(0);
		expect(check(good, { npm: '' }).stderr).toContain('no npm version given');
		const outside = check(good, { repository: '' });
		expect(outside.status).toBe(1);
		expect(outside.stderr).toContain('GITHUB_REPOSITORY is not set');
	});

	it("this repository's package.json is as the check expects, once its placeholders are filled in", () => {
		const pkg = JSON.parse(
			fs.readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf8'),
		) as { version: string; repository: { url: string }; homepage: string };
		const named = /github\.com\/([^/]+\/[^/]+?)\.git$/.exec(pkg.repository.url)?.[1];
		expect(named).toBeDefined();
		const result = check(pkg, { tag: `v${pkg.version}`, repository: named });
		expect(result.stderr).toContain(`${pkg.version} from ${named}`);
		expect(result.status).toBe(0);
	});
});
