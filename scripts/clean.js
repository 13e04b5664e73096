// Removes build output so that a renamed or deleted source file never lingers in dist/.
const fs = require('node:fs');
for (const dir of ['dist', '.build']) fs.rmSync(dir, { recursive: true, force: true });
