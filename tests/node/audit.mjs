// The graphql-http conformance audit (GraphQL over HTTP) against the real podledger server:
// `node audit.mjs <url> <token>` prints a JSON summary (driven by tests/security.rs).
import { auditServer } from 'graphql-http';

const [url, token] = process.argv.slice(2);
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};
const results = await auditServer({ url, fetchFn });
const count = (status) => results.filter((r) => r.status === status).length;
console.log(JSON.stringify({
  ok: count('ok'),
  warn: count('warn'),
  error: count('error'),
  notOk: results.filter((r) => r.status !== 'ok').map((r) => ({ status: r.status, name: r.name, reason: r.reason })),
}));
