import { defineConfig } from 'vitest/config';
import { packageProjects } from './vitest.shared.js';

export default defineConfig({
  test: {
    projects: [
      ...packageProjects('core', 'packages/core', ['aws']),
      ...packageProjects('loader', 'packages/loader', ['aws']),
      ...packageProjects('operator', 'packages/operator', ['aws', 'kube', 'image']),
      ...packageProjects('env', 'test', ['aws', 'kube']),
    ],
  },
});
