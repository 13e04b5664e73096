/**
 * The house rules of nodes/ and credentials/ that a reader relies on, read from the source itself:
 * imports only go down the layers, files stay short, lines stay within 100 columns, and the map in
 * docs/architecture.md names every file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '../..');

/** From the top down: a file may import its own layer or any layer below it. */
const LAYERS = ['node', 'actions', 'job', 'helpers', 'transport', 'fal'] as const;
type Layer = (typeof LAYERS)[number] | 'credentials';

function sourceFiles(dir: string): string[] {
	return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
		const relative = path.join(dir, entry.name);
		if (entry.isDirectory()) return sourceFiles(relative);
		return entry.name.endsWith('.ts') ? [relative] : [];
	});
}

/**
 * The layer of a file: `nodes/<Node>/<layer>/...`; a file directly in a node's folder (the node
 * class) is the top.
 */
export function layerOf(file: string): Layer {
	const parts = file.split(path.sep);
	if (parts[0] === 'credentials') return 'credentials';
	if (parts.length <= 3) return 'node';
	const layer = parts[2] as Layer;
	if (!(LAYERS as readonly string[]).includes(layer)) {
		throw new Error(`${file}: folder "${layer}" is not a layer (${LAYERS.join(', ')})`);
	}
	return layer;
}

/** Every module a file imports (static, type-only, re-export, dynamic, require), resolved. */
export function importsOf(file: string, text: string): Array<{ line: number; target: string }> {
	const found: Array<{ line: number; target: string }> = [];
	const pattern = /(?:from\s+|import\s*\(\s*|require\s*\(\s*|^import\s+)'(\.[^']*)'/gm;
	for (const match of text.matchAll(pattern)) {
		const line = text.slice(0, match.index).split('\n').length;
		found.push({ line, target: path.normalize(path.join(path.dirname(file), match[1])) });
	}
	return found;
}

/** The file an import names: `x.ts`, or `x/index.ts` for a folder. */
function resolved(target: string): string {
	if (target.endsWith('.ts')) return target;
	const isFolder =
		fs.existsSync(path.join(ROOT, target)) && fs.statSync(path.join(ROOT, target)).isDirectory();
	return isFolder ? path.join(target, 'index.ts') : `${target}.ts`;
}

/** The upward imports of a file, each as "file:line imports target (layer a above layer b)". */
export function upwardImports(file: string, text: string): string[] {
	const from = layerOf(file);
	return importsOf(file, text).flatMap(({ line, target }) => {
		const to = layerOf(resolved(target));
		const where = `${file}:${line} imports ${target}`;
		if (from === 'credentials') {
			return to === 'credentials' || to === 'fal'
				? []
				: [`${where} (credentials may use fal only)`];
		}
		if (to === 'credentials') return [`${where} (nodes do not import credentials)`];
		return LAYERS.indexOf(to) < LAYERS.indexOf(from) ? [`${where} (${to} sits above ${from})`] : [];
	});
}

const files = [...sourceFiles('nodes'), ...sourceFiles('credentials')];
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

describe('house rules of nodes/ and credentials/', () => {
	it('reads the layers from the folders, and finds an upward import', () => {
		const job = path.join('nodes', 'FluxKontext', 'helpers', 'cost.ts');
		expect(upwardImports(job, "import type { Execution } from '../job/execution';")).toEqual([
			`${job}:1 imports nodes/FluxKontext/job/execution (job sits above helpers)`,
		]);
		expect(upwardImports(job, "import { redact } from '../fal/secrets';")).toEqual([]);
		const credential = path.join('credentials', 'X.credentials.ts');
		expect(
			upwardImports(credential, "import { a } from '../nodes/FluxKontext/job/x';"),
		).toHaveLength(1);
	});

	it('imports only go down: actions > job > helpers > transport > fal (credentials use fal)', () => {
		expect(files.length).toBeGreaterThan(30);
		expect(files.flatMap((file) => upwardImports(file, read(file)))).toEqual([]);
	});

	it('no file in nodes/ is over 300 lines', () => {
		const long = files
			.map((file) => ({ file, lines: read(file).split('\n').length }))
			.filter(({ lines }) => lines > 300);
		expect(long).toEqual([]);
	});

	it('no line over 100 columns (a tab counts 2), URLs aside', () => {
		const long = files.flatMap((file) =>
			read(file)
				.split('\n')
				.flatMap((text, index) =>
					text.replace(/\t/g, '  ').length > 100 && !/https?:\/\/\S{20,}/.test(text)
						? [`${file}:${index + 1}`]
						: [],
				),
		);
		expect(long).toEqual([]);
	});

	it('docs/architecture.md names every file of nodes/ and credentials/', () => {
		const map = read(path.join('docs', 'architecture.md'));
		const named = new Set(map.match(/`[^`]+\.ts`/g)?.map((name) => name.slice(1, -1)) ?? []);
		const missing = files.filter((file) => {
			const relative = file
				.split(path.sep)
				.slice(file.startsWith('nodes') ? 2 : 1)
				.join('/');
			return !named.has(relative) && !named.has(file.split(path.sep).join('/'));
		});
		expect(missing).toEqual([]);
	});
});
