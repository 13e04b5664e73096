/** Finding the repository from a compiled script (which runs from `.build/scripts/...`, not from the repo). */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const PACKAGE_NAME = 'n8n-nodes-flux-kontext';
/** The node type as n8n registers it: `<package>.<node name>`. */
export const NODE_TYPE = `${PACKAGE_NAME}.fluxKontext`;

/** Walks up from `start` to the directory whose package.json is this package's. */
export function findRepoRoot(start: string = __dirname): string {
	let dir = path.resolve(start);
	for (;;) {
		const pkgJson = path.join(dir, 'package.json');
		if (fs.existsSync(pkgJson)) {
			try {
				if (
					(JSON.parse(fs.readFileSync(pkgJson, 'utf8')) as { name?: string }).name === PACKAGE_NAME
				)
					return dir;
			} catch {
				// not ours; keep walking
			}
		}
		const parent = path.dirname(dir);
		if (parent === dir) throw new Error(`No package.json named ${PACKAGE_NAME} above ${start}`);
		dir = parent;
	}
}
