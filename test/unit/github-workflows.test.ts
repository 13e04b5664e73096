/**
 * The GitHub workflows, checked here since they only run on GitHub: each against the schema of a workflow
 * (@action-validator/core, the JSON schema GitHub's workflows are written to), and what each must do to work
 * on GitHub's runners and on a first release (issue 22).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { validateWorkflow } from '@action-validator/core';
import { parse } from 'yaml';

const ROOT = path.resolve(__dirname, '..', '..');
const WORKFLOWS = path.join(ROOT, '.github/workflows');

interface Step {
	id?: string;
	name?: string;
	uses?: string;
	run?: string;
	with?: Record<string, unknown>;
	env?: Record<string, string>;
}
interface Job {
	env?: Record<string, string>;
	permissions?: Record<string, string>;
	strategy?: { matrix?: Record<string, unknown[]> };
	steps: Step[];
}
interface Workflow {
	concurrency?: { group: string; 'cancel-in-progress': boolean };
	jobs: Record<string, Job>;
}

const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
const workflow = (name: string) => parse(read(`.github/workflows/${name}`)) as Workflow;
const allSteps = (wf: Workflow) => Object.values(wf.jobs).flatMap((job) => job.steps);
const runs = (steps: Step[]) => steps.filter((step) => step.run).map((step) => step.run!.trim());
/** The steps of .ci/run that a `run:` line names (`bash .ci/run install test`). */
const ciRunSteps = (run: string) =>
	/bash \.ci\/run((?: [a-z0-9-]+)*)$/.exec(run)?.[1].trim().split(' ');

describe('the workflows against the schema of a GitHub workflow', () => {
	const files = fs.readdirSync(WORKFLOWS).filter((file) => /\.ya?ml$/.test(file));

	it('finds the workflows', () => {
		expect(files.sort()).toEqual(['ci.yml', 'publish.yml']);
	});

	it.each(files)('%s is a valid workflow', (file) => {
		expect(validateWorkflow(read(`.github/workflows/${file}`)).errors).toEqual([]);
	});

	it('a workflow with a misspelt key or a step with both uses and run is not', () => {
		const misspelt =
			'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    stepz:\n      - run: x\n';
		expect(validateWorkflow(misspelt).errors.length).toBeGreaterThan(0);
		const both =
			'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n' +
			'      - uses: actions/checkout@v5\n        run: x\n';
		expect(validateWorkflow(both).errors.length).toBeGreaterThan(0);
	});
});

describe('CI (ci.yml)', () => {
	const ci = workflow('ci.yml');

	it('a newer push cancels the run it makes stale', () => {
		expect(ci.concurrency?.['cancel-in-progress']).toBe(true);
		expect(ci.concurrency?.group).toContain('github.ref');
	});

	it('every job runs .ci/run, and together they run each of its steps', () => {
		const named: string[] = [];
		for (const [name, job] of Object.entries(ci.jobs)) {
			const lines = runs(job.steps);
			const ciRuns = lines.filter((line) => ciRunSteps(line));
			expect({ job: name, runsCiRun: ciRuns.length > 0 }).toEqual({ job: name, runsCiRun: true });
			// No test command of its own beside .ci/run: what CI runs is what .ci/run runs.
			for (const line of lines)
				expect({ job: name, line, ownNpm: /\bnpm (ci|test|run|install)\b/.test(line) }).toEqual({
					job: name,
					line,
					ownNpm: false,
				});
			for (const line of ciRuns) named.push(...ciRunSteps(line)!);
		}
		expect([...new Set(named)].sort()).toEqual(['e2e', 'install', 'quick-start', 'test']);
		// .ci/run knows each step it is called with.
		const ciRun = read('.ci/run');
		for (const step of new Set(named)) expect(ciRun).toMatch(new RegExp(`^\\t${step}\\)$`, 'm'));
	});

	it('npm test on every supported Node: 20, 22 and 24, each with the npm it ships', () => {
		const test = ci.jobs.test;
		expect(test.strategy?.matrix?.node).toEqual([20, 22, 24]);
		expect(test.steps.find((step) => step.uses?.startsWith('actions/setup-node@'))?.with).toEqual(
			expect.objectContaining({ 'node-version': '${{ matrix.node }}' }),
		);
		expect(runs(allSteps(ci)).some((line) => /\bnpm (i|install) .*-g/.test(line))).toBe(false);
	});

	it("the e2e run's n8n cache is outside /home (which the run hides from n8n) and is the cached folder", () => {
		const e2e = ci.jobs.e2e;
		const cache = e2e.env?.N8N_E2E_CACHE;
		expect(cache).toMatch(/^\/(?!home\/)[^$]+$/);
		expect(cache).not.toContain('runner.temp');
		// The tmpfs the e2e run mounts for n8n's processes, which this folder must not be under.
		expect(read('scripts/e2e/lib/n8n.ts')).toContain('mount -t tmpfs tmpfs /home');
		const cached = e2e.steps.find((step) => step.uses?.startsWith('actions/cache@'));
		expect(cached?.with?.path).toBe(cache);
		const e2eRun = runs(e2e.steps).find((line) => ciRunSteps(line)?.includes('e2e'));
		expect(e2eRun).toContain('N8N_E2E_CACHE=$N8N_E2E_CACHE');
		// Restored before the run, which installs n8n into it only when it is missing.
		expect(e2e.steps.indexOf(cached!)).toBeLessThan(
			e2e.steps.findIndex((step) => step.run === e2eRun),
		);
	});

	it("the README's quick start and .ci/run install with the dependencies' install scripts off", () => {
		const quickStart = read('README.md').split('```sh\n')[1].split('\n')[0];
		expect(quickStart).toMatch(/^npm ci --ignore-scripts && npm run demo\s+#/);
		expect(read('.ci/run')).toMatch(/^\t\tnpm ci --ignore-scripts /m);
		// As a flag only: an .npmrc setting would stop `npm publish` from running prepublishOnly.
		expect(fs.existsSync(path.join(ROOT, '.npmrc'))).toBe(false);
	});
});

describe('Publish (publish.yml)', () => {
	const publish = workflow('publish.yml');
	const job = publish.jobs.publish;
	const index = (match: (step: Step) => boolean) => {
		const at = job.steps.findIndex(match);
		expect(at).toBeGreaterThanOrEqual(0);
		return at;
	};

	it('runs on Node 24 (npm 11.5.1+: trusted publishing), with no registry-url and its placeholder token', () => {
		const setup = job.steps.find((step) => step.uses?.startsWith('actions/setup-node@'));
		expect(setup?.with?.['node-version']).toBe(24);
		expect(setup?.with).not.toHaveProperty('registry-url');
		expect(job.permissions).toEqual({ 'id-token': 'write', contents: 'read' });
	});

	it('checks the release before anything is installed, then tests, then publishes', () => {
		const check = index((step) => step.run === 'node scripts/check-release.js "$(npm --version)"');
		const install = index((step) => /^bash \.ci\/run install test$/.test(step.run ?? ''));
		const publishStep = index((step) => /\bnpm publish\b/.test(step.run ?? ''));
		expect(check).toBeLessThan(install);
		expect(install).toBeLessThan(publishStep);
		expect(job.steps[check].id).toBe('check');
		// Nothing but checkout and setup-node before the check.
		expect(job.steps.slice(0, check).map((step) => step.uses?.split('@')[0])).toEqual([
			'actions/checkout',
			'actions/setup-node',
		]);
	});

	it('publishes with provenance under the dist-tag the check printed (next for a prerelease)', () => {
		const step = job.steps.find((s) => /\bnpm publish\b/.test(s.run ?? ''))!;
		expect(step.run).toContain('npm publish --provenance --access public --tag "$DIST_TAG"');
		expect(step.env?.DIST_TAG).toBe('${{ steps.check.outputs.dist-tag }}');
		// The token only when the secret is set: without it, npm uses trusted publishing.
		expect(step.run).toMatch(/if \[ -n "\$NPM_TOKEN" \]; then npm config set/);
		expect(step.env?.NPM_TOKEN).toBe('${{ secrets.NPM_TOKEN }}');
	});

	it('a publish in progress is never cancelled', () => {
		expect(publish.concurrency?.['cancel-in-progress']).toBe(false);
	});
});

describe('Dependabot (.github/dependabot.yml)', () => {
	it('updates the npm dev dependencies and the actions, weekly', () => {
		const config = parse(read('.github/dependabot.yml')) as {
			version: number;
			updates: Array<{
				'package-ecosystem': string;
				directory: string;
				schedule: { interval: string };
			}>;
		};
		expect(config.version).toBe(2);
		expect(
			config.updates.map((u) => [u['package-ecosystem'], u.directory, u.schedule.interval]),
		).toEqual([
			['npm', '/', 'weekly'],
			['github-actions', '/', 'weekly'],
		]);
	});
});
