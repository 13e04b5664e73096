// Regenerates test/support/n8n-workflow-exports.json: the names that the n8n-workflow of the oldest
// supported n8n exports at run time, for test/unit/n8n-workflow-exports.test.ts (tests have no network).
//   node scripts/n8n-workflow-exports.js [n8n version]   (default: LOWEST_SUPPORTED_N8N in helpers/compat.ts)
// Asks the npm registry which n8n-workflow that n8n pins, installs that one into a temporary folder and
// lists what `require('n8n-workflow')` holds there.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const compat = fs.readFileSync(path.join(root, 'nodes/FluxKontext/helpers/compat.ts'), 'utf8');
const n8nVersion = process.argv[2] ?? /LOWEST_SUPPORTED_N8N = '([^']+)'/.exec(compat)?.[1];
if (!n8nVersion) throw new Error('no n8n version given, and none found in helpers/compat.ts');

const npm = (args, cwd) =>
	execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
const workflowVersion = JSON.parse(
	npm(['view', `n8n@${n8nVersion}`, 'dependencies.n8n-workflow', '--json'], root),
);
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-workflow-exports-'));
try {
	fs.writeFileSync(path.join(scratch, 'package.json'), '{"private":true}');
	npm(
		['install', '--ignore-scripts', '--no-audit', '--no-fund', `n8n-workflow@${workflowVersion}`],
		scratch,
	);
	const exported = execFileSync(
		process.execPath,
		['-e', 'console.log(JSON.stringify(Object.keys(require("n8n-workflow")).sort()))'],
		{ cwd: scratch, encoding: 'utf8' },
	);
	const out = path.join(root, 'test/support/n8n-workflow-exports.json');
	const list = { n8n: n8nVersion, 'n8n-workflow': workflowVersion, exports: JSON.parse(exported) };
	fs.writeFileSync(out, JSON.stringify(list, null, '\t') + '\n');
	console.log(
		`${out}: n8n ${n8nVersion}, n8n-workflow ${workflowVersion}, ${list.exports.length} names`,
	);
} finally {
	fs.rmSync(scratch, { recursive: true, force: true });
}
