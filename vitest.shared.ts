import type { TestProjectInlineConfiguration } from 'vitest/config';

type Component = 'aws' | 'kube' | 'image';

/**
 * Each package is a pair of vitest projects: `<name>:unit` (pure logic, no server, no network)
 * and `<name>:integration` (real moto / kube-apiserver / helm, started by the global setup).
 * Unit tests are `*.test.ts`; integration tests are `*.int.test.ts`.
 */
export function packageProjects(
  name: string,
  root: string,
  env: Component[] = ['aws'],
): TestProjectInlineConfiguration[] {
  // vitest runs tests in Vite's SSR environment: the workspace packages must resolve to their
  // sources there too (the `strata-source` export condition), so no build is needed to test
  const resolve = { conditions: ['strata-source'] };
  const ssr = { resolve: { conditions: ['strata-source'], externalConditions: ['strata-source'] } };
  return [
    {
      resolve,
      ssr,
      test: {
        name: `${name}:unit`,
        root,
        include: ['**/*.test.ts'],
        exclude: ['**/*.int.test.ts', '**/node_modules/**', '**/dist/**'],
        environment: 'node',
      },
    },
    {
      resolve,
      ssr,
      test: {
        name: `${name}:integration`,
        root,
        include: ['**/*.int.test.ts'],
        exclude: ['**/node_modules/**', '**/dist/**'],
        environment: 'node',
        globalSetup: [new URL('./test/env/global-setup.ts', import.meta.url).pathname],
        provide: { strataEnv: env },
        testTimeout: 60_000,
        hookTimeout: 120_000,
      },
    },
  ];
}
