// The breaking changes between two SDL files, by @graphql-inspector/core:
// `node schema-diff.mjs <released.graphql> <current.graphql>` prints a JSON array of
// { path, message } (driven by tests/api.rs).
import { readFileSync } from 'node:fs';
import { buildSchema } from 'graphql';
import { diff, CriticalityLevel } from '@graphql-inspector/core';

const [released, current] = process.argv.slice(2).map((f) => buildSchema(readFileSync(f, 'utf8')));
const changes = await diff(released, current);
console.log(JSON.stringify(changes
  .filter((c) => c.criticality.level === CriticalityLevel.Breaking)
  .map((c) => ({ path: c.path, message: c.message }))));
