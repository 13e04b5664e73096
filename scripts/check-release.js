#!/usr/bin/env node
/**
 * The first step of .github/workflows/publish.yml, before anything is installed: fails in seconds, saying what
 * to fix, when a release from this tag cannot work.
 *   node scripts/check-release.js "$(npm --version)"      (in the repository's root folder)
 * - The tag (GITHUB_REF_NAME: `v1.2.3` or `1.2.3`) names package.json's version.
 * - package.json's `repository.url` (and `homepage`, when it is on github.com) name the repository that runs
 *   the workflow (GITHUB_REPOSITORY): npm rejects a provenance statement from any other repository.
 * - npm is 11.5.1 or newer: trusted publishing (an npm token from GitHub's OIDC token) needs it.
 * Prints `dist-tag=latest`, or `dist-tag=next` for a prerelease version (npm requires a tag for one, and
 * `latest` must stay the newest stable version), and appends that line to GITHUB_OUTPUT when it is set.
 */
'use strict';
const fs = require('node:fs');

const SEMVER = /^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;
const MIN_NPM = [11, 5, 1];

/** `owner/name` of a GitHub repository URL in any form npm accepts, or undefined. */
function githubRepository(url) {
	const match =
		/^(?:git\+)?(?:https?|ssh|git):\/\/(?:[^@/]+@)?github\.com\/([^/]+\/[^/#?]+?)(?:\.git)?\/?(?:[#?].*)?$/.exec(
			url,
		) ??
		/^(?:git@)?github\.com:([^/]+\/[^/#?]+?)(?:\.git)?$/.exec(url) ??
		/^(?:github:)?([A-Za-z0-9][\w.-]*\/[\w.-]+?)(?:\.git)?$/.exec(url);
	return match?.[1];
}

function problems(pkg, env, npmVersion) {
	const found = [];
	const tag = env.GITHUB_REF_NAME ?? '';
	if (tag.replace(/^v/, '') !== pkg.version)
		found.push(
			`the tag '${tag}' does not name package.json's version ${pkg.version}: tag v${pkg.version}, or ` +
				`set the version (npm version <x.y.z> --no-git-tag-version) and tag again`,
		);
	if (!SEMVER.test(pkg.version ?? ''))
		found.push(`package.json's version '${pkg.version}' is not semver`);

	const running = env.GITHUB_REPOSITORY ?? '';
	const url = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url;
	if (!running) found.push('GITHUB_REPOSITORY is not set: this check runs in GitHub Actions');
	else if (githubRepository(url ?? '') !== running)
		found.push(
			`package.json's repository.url is '${url ?? ''}', not this repository (${running}): set it to ` +
				`git+https://github.com/${running}.git (npm rejects provenance from any other repository)`,
		);
	const homepage = pkg.homepage ?? '';
	if (running && /^https?:\/\/github\.com\//.test(homepage)) {
		const named = githubRepository(homepage.replace(/#.*$/, ''));
		if (named !== running)
			found.push(
				`package.json's homepage is '${homepage}', a page of another repository: set it to ` +
					`https://github.com/${running}#readme`,
			);
	}

	const npm = /^(\d+)\.(\d+)\.(\d+)/.exec(npmVersion ?? '');
	const tooOld = (parts) => {
		for (let i = 0; i < 3; i++) if (parts[i] !== MIN_NPM[i]) return parts[i] < MIN_NPM[i];
		return false;
	};
	if (!npm) found.push(`no npm version given (node scripts/check-release.js "$(npm --version)")`);
	else if (tooOld(npm.slice(1).map(Number)))
		found.push(
			`npm ${npmVersion} cannot use trusted publishing (11.5.1 or newer can): run this workflow on Node 24`,
		);
	return found;
}

function main() {
	const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'));
	const found = problems(pkg, process.env, process.argv[2]);
	if (found.length) {
		for (const problem of found) console.error(`release check: ${problem}`);
		process.exit(1);
	}
	const distTag = SEMVER.exec(pkg.version)[4] ? 'next' : 'latest';
	const line = `dist-tag=${distTag}`;
	console.log(line);
	if (process.env.GITHUB_OUTPUT) fs.appendFileSync(process.env.GITHUB_OUTPUT, `${line}\n`);
	console.error(
		`release check: ${pkg.name}@${pkg.version} from ${process.env.GITHUB_REPOSITORY}, npm ` +
			`${process.argv[2]}, dist-tag ${distTag}`,
	);
}

main();
