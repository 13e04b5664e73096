/**
 * Writes test/fixtures/sample-photo.jpg, the photo-like sample image that `npm run demo` edits,
 * from test/support/sample-photo.ts (drawn, no randomness: the same bytes every time).
 * Run: npm run build:scripts && node .build/scripts/make-sample-photo.js
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { makeSamplePhoto } from '../test/support/sample-photo';
import { findRepoRoot } from './lib/repo';

const file = path.join(findRepoRoot(), 'test', 'fixtures', 'sample-photo.jpg');
fs.mkdirSync(path.dirname(file), { recursive: true });
const bytes = makeSamplePhoto();
fs.writeFileSync(file, bytes);
console.log(`${path.relative(process.cwd(), file)}: ${bytes.length} bytes`);
