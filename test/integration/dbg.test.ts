import { runWorkflow } from '../support/engine';
import { credentialsFor, textToImageParams, useFakeFal } from './setup';
const server = useFakeFal();
import * as path from 'node:path';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const transport = require(path.join(__dirname, '../../dist/nodes/FluxKontext/transport/index.js'));
void transport;
it('dbg', async () => {
	const { fal } = server;
	fal.options.stream = '404';
	fal.options.statusRetryAfter = '3600';
	fal.options.timing = (input) => (input.prompt === 'image #0' ? { queueMs: 0, runMs: 0 } : { queueMs: 9000, runMs: 100 });
	fal.options.failure = (input) => (input.prompt === 'image #0' ? { error: 'Runner disconnected', error_type: 'runner_disconnected', status: 503 } : undefined);
	fal.options.submitDelayMs = (input) => (input.prompt === 'image #0' ? 300 : 0);
	const t = setInterval(() => console.log(fal.requests.map((r) => `${Math.round(r.at)} ${r.kind} ${r.path.slice(-12)}`).join('\n')), 2000);
	const run = await runWorkflow({ parameters: textToImageParams({ prompt: '={{ $json.prompt }}' }), credentials: credentialsFor(fal), items: [{ json: { prompt: 'image #0' } }, { json: { prompt: 'image #1' } }] });
	clearInterval(t);
	console.log(run.error?.message, run.durationMs);
}, 60000);
