// The npm graphql-ws client against a running podledger server: subscribes to a pod's sprint
// board, prints "READY <payload>" on the first message and "CHANGE <payload>" on the next one,
// then exits 0 (exit 1 on an error, a close or after 30 s). Driven by tests/subscriptions.rs.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, token, podId] = process.argv.slice(2);
const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { token },
  retryAttempts: 0,
});
const timer = setTimeout(() => {
  console.error('no change within 30 s');
  process.exit(1);
}, 30_000);
let seen = 0;
client.subscribe(
  {
    query: 'subscription($pod: ID!) { sprintBoard(podId: $pod) { id items { nodes { id title } } } }',
    variables: { pod: podId },
  },
  {
    next: (payload) => {
      seen += 1;
      console.log(`${seen === 1 ? 'READY' : 'CHANGE'} ${JSON.stringify(payload)}`);
      if (seen === 2) {
        clearTimeout(timer);
        client.dispose();
        process.exit(0);
      }
    },
    error: (error) => {
      console.error('error', JSON.stringify(error.reason ?? error));
      process.exit(1);
    },
    complete: () => {
      console.error('completed before a change');
      process.exit(1);
    },
  },
);
