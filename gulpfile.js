const { src, dest, task } = require('gulp');

// tsc compiles the TypeScript; icons and the codex file (*.node.json) are copied beside its output.
task('build:icons', () =>
	src(['nodes/**/*.{png,svg,json}', 'credentials/**/*.{png,svg}'], { base: '.', encoding: false }).pipe(
		dest('dist'),
	),
);
