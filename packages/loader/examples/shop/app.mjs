// Strata's embedded example: typed config from a /dept/app/env hierarchy with references.
//
//   npm start                                  local provider (strata.local.yaml), no AWS account
//   STRATA_PROVIDER=aws npm start              the same against AWS (AWS_REGION, AWS_PROFILE, …)
//   STRATA_PROVIDER=aws AWS_ENDPOINT_URL=http://127.0.0.1:5000 npm start -- --seed
//                                              against moto, writing the example tree first
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { createResolver, readLocalTree } from '@strata/core';
import { loadConfigDetailed } from '@strata/loader';
import { z } from 'zod';

const tree = fileURLToPath(new URL('./strata.local.yaml', import.meta.url));
const useAws = process.env.STRATA_PROVIDER === 'aws' || process.argv.includes('--aws');

const schema = z.object({
  logLevel: z.enum(['debug', 'info', 'warn', 'error']),
  region: z.string(),
  port: z.coerce.number().int().min(1).max(65535),
  db: z.object({
    host: z.string(),
    name: z.string(),
    user: z.string(),
    password: z.string().min(8),
    url: z.string().startsWith('postgres://'),
  }),
  payments: z.object({ apiKey: z.string() }),
});

async function seed() {
  // Writes the example tree into AWS (or moto) so the AWS path has something to read.
  const local = readLocalTree(tree);
  const ssm = new SSMClient({});
  const sm = new SecretsManagerClient({});
  for (const [Name, p] of local.parameters) {
    await ssm.send(new PutParameterCommand({ Name, Value: p.value, Type: p.type, Overwrite: true }));
  }
  for (const [Name, SecretString] of local.secrets) {
    await sm
      .send(new CreateSecretCommand({ Name, SecretString }))
      .catch(() => sm.send(new PutSecretValueCommand({ SecretId: Name, SecretString })));
  }
  console.log(`seeded ${local.parameters.size} parameters and ${local.secrets.size} secrets`);
}

if (useAws && process.argv.includes('--seed')) await seed();

const resolver = createResolver(useAws ? {} : { local: tree });
const hierarchy = {
  template: '/{dept}/{app}/{env}',
  vars: { dept: 'acme', app: 'shop', env: process.env.APP_ENV ?? 'dev' },
};

try {
  const { config, sources } = await loadConfigDetailed({ schema, hierarchy, resolver });

  console.log(
    `Loaded config for /acme/shop/${hierarchy.vars.env} from ${useAws ? 'AWS' : 'the local provider (strata.local.yaml)'}:`,
  );
  console.log(inspect(config, { depth: null, colors: false }));
  console.log(
    `\nTyped access still reads real values: config.port + 1 = ${config.port + 1}, db.password has ${config.db.password.length} characters`,
  );

  const s = sources.get('logLevel');
  console.log('\nexplain logLevel:');
  console.log(
    `  from       ${s.entry.origin.parameter} (version ${s.entry.origin.version}, level ${s.entry.origin.level}: ${s.entry.origin.levelPath})`,
  );
  for (const o of s.entry.origin.overrides)
    console.log(`  overrides  ${o.parameter} (version ${o.version}, level ${o.level})`);
  const u = sources.get('db.url');
  console.log('explain db.url:');
  console.log(
    `  from       ${u.entry.origin.parameter}; resolves ${(u.entry.references ?? []).map((r) => r.reference).join(', ')}`,
  );

  const stats = resolver.statsSnapshot();
  console.log(
    `\n${Object.values(stats.calls).reduce((a, b) => a + b, 0)} backend calls: ${JSON.stringify(stats.calls)}`,
  );
} catch (err) {
  console.error(err.message);
  process.exitCode = 1;
} finally {
  resolver.close();
}
