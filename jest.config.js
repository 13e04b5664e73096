/** @type {import('jest').Config} */
module.exports = {
	testEnvironment: 'node',
	roots: ['<rootDir>/test'],
	testMatch: ['**/*.test.ts'],
	transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/test/tsconfig.json' }] },
	// Integration tests start real servers on 127.0.0.1 and run n8n-core's engine.
	testTimeout: 30000,
	maxWorkers: 2,
};
