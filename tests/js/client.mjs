// Drives the official @microsoft/signalr client for herald's integration tests.
//
// Usage: node client.mjs '<json config>'
//   config: { url, transport: "WebSockets"|"ServerSentEvents"|"LongPolling"|null,
//             protocol: "json"|"messagepack", token?: string, listen: [target, ...],
//             skipNegotiation?: bool, automaticReconnect?: bool, statefulReconnect?: bool }
//   A null transport lets the client choose from what negotiate offers (WS, SSE, LP).
// Prints one JSON line per event on stdout:
//   {"event":"connected","connectionId":...,"transport":"WebSocketTransport"|...}
//   {"event":"message","target":...,"arguments":[...]}
//   {"event":"reconnecting","error":...}      {"event":"reconnected","connectionId":...}
//   {"event":"closed","error":...}            {"event":"error","message":...}
//   {"event":"result","id":...,"result":...}  {"event":"invokeError","id":...,"message":...}
//   {"event":"sent","id":...}                 {"event":"stopped"}
// Reads JSON command lines on stdin:
//   {"cmd":"invoke","id":...,"target":...,"arguments":[...]}
//   {"cmd":"send","id":...,"target":...,"arguments":[...]}
//   {"cmd":"stop"}
// End of stdin stops the connection and exits.

import * as signalR from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import { createInterface } from "node:readline";

const config = JSON.parse(process.argv[2] ?? "{}");

function emit(event) {
  process.stdout.write(JSON.stringify(event, jsonReplacer) + "\n");
}

// MessagePack may hand us binary data or dates: print them in a stable, JSON-safe form.
function jsonReplacer(_key, value) {
  if (value instanceof Uint8Array) {
    return { $binary: Buffer.from(value).toString("base64") };
  }
  if (typeof value === "bigint") {
    return value.toString();
  }
  return value;
}

function errorText(error) {
  if (error === undefined || error === null) {
    return null;
  }
  return error.message ?? String(error);
}

const transports = {
  WebSockets: signalR.HttpTransportType.WebSockets,
  ServerSentEvents: signalR.HttpTransportType.ServerSentEvents,
  LongPolling: signalR.HttpTransportType.LongPolling,
};

const logLevel = process.env.HERALD_JS_LOG === "trace" ? signalR.LogLevel.Trace : signalR.LogLevel.Warning;

const options = {
  skipNegotiation: config.skipNegotiation === true,
};
if (config.transport !== null) {
  options.transport = transports[config.transport ?? "WebSockets"];
}
if (typeof config.token === "string") {
  options.accessTokenFactory = () => config.token;
}

let builder = new signalR.HubConnectionBuilder()
  .withUrl(config.url, options)
  .configureLogging(logLevel);
if (config.protocol === "messagepack") {
  builder = builder.withHubProtocol(new MessagePackHubProtocol());
}
if (config.statefulReconnect === true) {
  builder = builder.withStatefulReconnect();
}
if (config.automaticReconnect === true) {
  builder = builder.withAutomaticReconnect([0, 250, 500, 1000, 2000]);
}
const connection = builder.build();

for (const target of config.listen ?? []) {
  // Returning undefined matters: a returned value would be sent back as a client result.
  connection.on(target, (...args) => {
    emit({ event: "message", target, arguments: args });
    return undefined;
  });
}

connection.onreconnecting((error) => emit({ event: "reconnecting", error: errorText(error) }));
connection.onreconnected((connectionId) => emit({ event: "reconnected", connectionId: connectionId ?? null }));
connection.onclose((error) => emit({ event: "closed", error: errorText(error) }));

async function handle(command) {
  switch (command.cmd) {
    case "invoke":
      try {
        const result = await connection.invoke(command.target, ...(command.arguments ?? []));
        emit({ event: "result", id: command.id ?? null, result: result ?? null });
      } catch (error) {
        emit({ event: "invokeError", id: command.id ?? null, message: errorText(error) });
      }
      break;
    case "send":
      try {
        await connection.send(command.target, ...(command.arguments ?? []));
        emit({ event: "sent", id: command.id ?? null });
      } catch (error) {
        emit({ event: "invokeError", id: command.id ?? null, message: errorText(error) });
      }
      break;
    case "stop":
      await stop();
      break;
    default:
      emit({ event: "error", message: `unknown command ${JSON.stringify(command)}` });
  }
}

let stopping = false;
async function stop() {
  if (stopping) {
    return;
  }
  stopping = true;
  try {
    await connection.stop();
  } catch (error) {
    emit({ event: "error", message: errorText(error) });
  }
  emit({ event: "stopped" });
  process.exit(0);
}

const input = createInterface({ input: process.stdin });
input.on("line", (line) => {
  if (line.trim() === "") {
    return;
  }
  let command;
  try {
    command = JSON.parse(line);
  } catch (error) {
    emit({ event: "error", message: `bad command line: ${errorText(error)}` });
    return;
  }
  handle(command);
});
input.on("close", () => stop());

try {
  await connection.start();
  // The transport the HttpConnection settled on: its class name (WebSocketTransport,
  // ServerSentEventsTransport or LongPollingTransport).
  const transport = connection.connection?.transport?.constructor?.name ?? null;
  emit({ event: "connected", connectionId: connection.connectionId ?? null, transport });
} catch (error) {
  emit({ event: "error", message: errorText(error) });
  process.exit(1);
}
