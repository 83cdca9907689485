// Opens many official @microsoft/signalr connections in one node process, for herald's soak test.
//
// Usage: node many.mjs '<json config>'
//   config: { url, token?: string, target, expect: number,
//             clients: [{ transport: "WebSockets"|"ServerSentEvents"|"LongPolling", count }, ...],
//             automaticReconnect?: bool, skipNegotiation?: bool }
//   Every connection records the first argument of each `target` message it receives.
//   automaticReconnect: withAutomaticReconnect([0, 250, 500, 1000, 2000]).
// Prints one JSON line per event on stdout:
//   {"event":"connected","count":N}           once every connection is up
//   {"event":"complete","index":i,"transport":...,"numbers":[...]}
//                                             when connection i has received `expect` messages
//   {"event":"count","index":i,"transport":...,"numbers":[...]}   per connection, on "report"
//   {"event":"closed","index":i,"error":...}  a connection closed on its own
//   {"event":"reconnecting","index":i,"error":...}  {"event":"reconnected","index":i,"connectionId":...}
//   {"event":"ids","ids":[...]}               on "ids": every connection's current connection id
//   {"event":"error","message":...}           a connection failed to start (then exit 1)
//   {"event":"stopped","count":N}             after "stop": every connection stopped
// Reads JSON command lines on stdin: {"cmd":"report"}, {"cmd":"ids"}, {"cmd":"stop"}.
// End of stdin stops.

import * as signalR from "@microsoft/signalr";
import { createInterface } from "node:readline";

const config = JSON.parse(process.argv[2] ?? "{}");

// Connections started at once: enough to be quick, few enough not to time out negotiates.
const START_CONCURRENCY = 25;

function emit(event) {
  process.stdout.write(JSON.stringify(event) + "\n");
}

function errorText(error) {
  if (error === undefined || error === null) {
    return null;
  }
  return error.message ?? String(error);
}

const clients = [];
for (const group of config.clients ?? []) {
  for (let n = 0; n < group.count; n++) {
    const index = clients.length;
    const options = {
      transport: signalR.HttpTransportType[group.transport],
      skipNegotiation: config.skipNegotiation === true,
    };
    if (typeof config.token === "string") {
      options.accessTokenFactory = () => config.token;
    }
    let builder = new signalR.HubConnectionBuilder()
      .withUrl(config.url, options)
      .configureLogging(signalR.LogLevel.Error);
    if (config.automaticReconnect === true) {
      builder = builder.withAutomaticReconnect([0, 250, 500, 1000, 2000]);
    }
    const connection = builder.build();
    const client = { index, transport: group.transport, connection, numbers: [], stopping: false };
    connection.on(config.target, (number) => {
      client.numbers.push(number);
      if (client.numbers.length === config.expect) {
        emit({ event: "complete", index, transport: client.transport, numbers: client.numbers });
      }
      return undefined;
    });
    connection.onreconnecting((error) => emit({ event: "reconnecting", index, error: errorText(error) }));
    connection.onreconnected((connectionId) =>
      emit({ event: "reconnected", index, connectionId: connectionId ?? null }),
    );
    connection.onclose((error) => {
      if (!client.stopping) {
        emit({ event: "closed", index, error: errorText(error) });
      }
    });
    clients.push(client);
  }
}

async function startAll() {
  let next = 0;
  async function worker() {
    while (next < clients.length) {
      const client = clients[next++];
      await client.connection.start();
    }
  }
  const workers = [];
  for (let w = 0; w < START_CONCURRENCY; w++) {
    workers.push(worker());
  }
  await Promise.all(workers);
}

let stopping = false;
async function stopAll() {
  if (stopping) {
    return;
  }
  stopping = true;
  for (const client of clients) {
    client.stopping = true;
  }
  await Promise.allSettled(clients.map((client) => client.connection.stop()));
  emit({ event: "stopped", count: clients.length });
  process.exit(0);
}

const input = createInterface({ input: process.stdin });
input.on("line", (line) => {
  let command;
  try {
    command = JSON.parse(line);
  } catch (error) {
    emit({ event: "error", message: `bad command line: ${errorText(error)}` });
    return;
  }
  if (command.cmd === "report") {
    for (const client of clients) {
      emit({ event: "count", index: client.index, transport: client.transport, numbers: client.numbers });
    }
  } else if (command.cmd === "ids") {
    emit({ event: "ids", ids: clients.map((client) => client.connection.connectionId ?? null) });
  } else if (command.cmd === "stop") {
    stopAll();
  }
});
input.on("close", () => stopAll());

try {
  await startAll();
  emit({ event: "connected", count: clients.length });
} catch (error) {
  emit({ event: "error", message: errorText(error) });
  process.exit(1);
}
