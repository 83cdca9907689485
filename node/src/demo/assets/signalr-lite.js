// signalr-lite: a small browser client for the ASP.NET Core SignalR protocol, written for
// Herald's demo page. JSON hub protocol only; it receives the server's invocations and keeps
// the connection alive, it does not invoke hub methods.
//
//   const connection = new HubConnection("client/?hub=stocks", { accessToken, transports });
//   connection.on("stockUpdated", (document, meta) => { ... });
//   connection.onStatus(({ status, transport, error }) => { ... });
//   connection.start();
//
// How it connects: POST <hub url>/negotiate?negotiateVersion=1 (following redirects), then the
// first transport the server offers that works, in the order WebSockets, ServerSentEvents,
// LongPolling (negotiating again before each further try); the JSON handshake; then records
// separated by 0x1E. Server-Sent Events and long polling send with POST <hub url>&id=<token>.
// A lost connection, or a Close message with allowReconnect, reconnects with backoff; a Close
// without it, or a negotiate refusal no retry can fix (4xx), ends in "disconnected".
// Statuses: connecting, connected, reconnecting, disconnected.
// The transports themselves are in transports.js.

import {
  authHeaders,
  LongPollingTransport,
  ServerSentEventsTransport,
  WebSocketTransport,
} from "./transports.js";

/** The record separator that ends every JSON hub protocol message. */
const RECORD_SEPARATOR = "\u001e";
/** Hub protocol message types this client handles. */
const MESSAGE_TYPE = { invocation: 1, completion: 3, ping: 6, close: 7 };
/** Every transport, in order of preference. */
export const TRANSPORTS = ["WebSockets", "ServerSentEvents", "LongPolling"];
/** A ping is sent this often so the server's client timeout never fires. */
const PING_INTERVAL_MS = 15_000;
/** A connection that heard nothing (not even a ping) for this long is lost. */
const SERVER_TIMEOUT_MS = 30_000;
/** How long the server may take to answer the handshake. */
const HANDSHAKE_TIMEOUT_MS = 15_000;
/** Pause before the n-th retry in a row; the last value repeats. */
const RETRY_DELAYS_MS = [0, 2_000, 5_000, 10_000, 30_000];
/** Negotiate redirects followed before giving up. */
const MAX_REDIRECTS = 10;

/** A failure no retry can fix: the client gives up and reports it. */
class FatalError extends Error {}

/** A hub connection that reconnects by itself until stopped. */
export class HubConnection {
  #url;
  #accessToken;
  #transports;
  #handlers = new Map();
  #statusListeners = [];
  /** Bumped by start and stop: a run loop of an older generation ends. */
  #generation = 0;
  #running = false;
  #link = null;
  /** Ends the current pause between attempts early (on stop). */
  #wake = null;

  /**
   * @param {string | URL} url the hub URL, e.g. "client/?hub=stocks" (relative to the page)
   * @param {{ accessToken?: string | null, transports?: string[] }} options
   */
  constructor(url, options = {}) {
    this.#url = new URL(url, document.baseURI);
    this.#accessToken = options.accessToken || null;
    const wanted = options.transports?.length ? options.transports : TRANSPORTS;
    this.#transports = TRANSPORTS.filter((name) => wanted.includes(name));
    this.status = "disconnected";
    this.transport = null;
    this.error = null;
  }

  /** Calls `handler(...arguments)` for every invocation of `target` (case-insensitive). */
  on(target, handler) {
    const key = target.toLowerCase();
    const handlers = this.#handlers.get(key) ?? [];
    handlers.push(handler);
    this.#handlers.set(key, handlers);
  }

  /** Calls `listener({ status, transport, error })` on every status change. */
  onStatus(listener) {
    this.#statusListeners.push(listener);
  }

  /** Connects, and keeps reconnecting until `stop`. */
  start() {
    if (this.#running) {
      return;
    }
    this.#running = true;
    this.#generation += 1;
    this.#run(this.#generation);
  }

  /** Leaves the connection and stops reconnecting. */
  stop() {
    if (!this.#running) {
      return;
    }
    this.#running = false;
    this.#generation += 1;
    this.#wake?.();
    this.#link?.stop();
    this.#link = null;
    this.#setStatus("disconnected", null, null);
  }

  async #run(generation) {
    const alive = () => this.#generation === generation;
    let connectedBefore = false;
    let attempt = 0;
    while (alive()) {
      this.#setStatus(connectedBefore ? "reconnecting" : "connecting", null, this.error);
      let link;
      try {
        link = await this.#connect(alive);
      } catch (error) {
        if (!alive()) {
          return;
        }
        if (error instanceof FatalError) {
          this.#giveUp(error);
          return;
        }
        this.error = error;
        attempt += 1;
        await this.#pause(retryDelay(attempt));
        continue;
      }
      if (!alive()) {
        link.stop();
        return;
      }
      this.#link = link;
      this.error = null;
      attempt = 0;
      connectedBefore = true;
      this.#setStatus("connected", link.transport, null);
      const ended = await link.closed;
      if (!alive()) {
        return;
      }
      this.#link = null;
      if (!ended.allowReconnect) {
        this.#giveUp(ended.error ?? new Error("the server closed the connection"));
        return;
      }
      this.error = ended.error;
      attempt += 1;
      await this.#pause(retryDelay(attempt));
    }
  }

  #giveUp(error) {
    this.#running = false;
    this.#generation += 1;
    this.#setStatus("disconnected", null, error);
  }

  #pause(ms) {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }

  #setStatus(status, transport, error) {
    this.status = status;
    this.transport = transport;
    this.error = error ?? null;
    for (const listener of this.#statusListeners) {
      try {
        listener({ status, transport, error: this.error });
      } catch (failure) {
        console.error("signalr-lite: a status listener failed", failure);
      }
    }
  }

  /** Negotiates and opens the first offered transport that works. */
  async #connect(alive) {
    let negotiation = await this.#negotiate();
    const offered = this.#transports.filter(
      (name) =>
        isSupported(name) &&
        negotiation.availableTransports.some(
          (t) => t?.transport === name && (t.transferFormats ?? []).includes("Text"),
        ),
    );
    if (offered.length === 0) {
      const names = negotiation.availableTransports.map((t) => t?.transport).join(", ");
      throw new FatalError(
        `the server offers none of the transports ${this.#transports.join(", ")} (it offers: ${names || "none"})`,
      );
    }
    const failures = [];
    for (const [index, name] of offered.entries()) {
      if (!alive()) {
        break;
      }
      if (index > 0) {
        // The failed attempt may have claimed the negotiated connection.
        negotiation = await this.#negotiate();
      }
      try {
        return await openLink(name, negotiation, this.#handlers);
      } catch (error) {
        failures.push(`${name}: ${error.message}`);
      }
    }
    throw new Error(failures.join("; ") || "stopped while connecting");
  }

  async #negotiate() {
    let url = this.#url;
    let accessToken = this.#accessToken;
    for (let redirects = 0; redirects <= MAX_REDIRECTS; redirects += 1) {
      const negotiateUrl = new URL(url);
      negotiateUrl.pathname = negotiateUrl.pathname.replace(/\/?$/, "/negotiate");
      negotiateUrl.searchParams.set("negotiateVersion", "1");
      let response;
      try {
        response = await fetch(negotiateUrl, {
          method: "POST",
          headers: authHeaders(accessToken),
          cache: "no-store",
        });
      } catch (error) {
        throw new Error(`negotiate failed: ${error.message}`);
      }
      const body = await readJson(response);
      if (!response.ok) {
        const reason = typeof body?.message === "string" ? body.message : response.statusText;
        const message = `negotiate answered ${response.status}: ${reason}`;
        throw isFatalStatus(response.status) ? new FatalError(message) : new Error(message);
      }
      if (body === null || typeof body !== "object") {
        throw new Error("negotiate answered something that is not a JSON object");
      }
      if (typeof body.error === "string") {
        throw new FatalError(`negotiate refused: ${body.error}`);
      }
      if (typeof body.url === "string") {
        url = new URL(body.url, url);
        accessToken = typeof body.accessToken === "string" ? body.accessToken : accessToken;
        continue;
      }
      const id = body.negotiateVersion >= 1 ? body.connectionToken : body.connectionId;
      if (typeof id !== "string" || !Array.isArray(body.availableTransports)) {
        throw new Error("negotiate answered without a connection token or transports");
      }
      return { url, accessToken, id, availableTransports: body.availableTransports };
    }
    throw new FatalError(`negotiate redirected more than ${MAX_REDIRECTS} times`);
  }
}

function retryDelay(attempt) {
  const base = RETRY_DELAYS_MS[Math.min(attempt, RETRY_DELAYS_MS.length) - 1];
  return base * (0.8 + Math.random() * 0.4);
}

/** Client errors other than timeouts and throttling: retrying will not help. */
function isFatalStatus(status) {
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}

function isSupported(name) {
  switch (name) {
    case "WebSockets":
      return typeof WebSocket === "function";
    case "ServerSentEvents":
      return typeof EventSource === "function";
    default:
      return typeof fetch === "function";
  }
}

async function readJson(response) {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

/** Opens `name` for a negotiated connection and completes the handshake. */
async function openLink(name, negotiation, handlers) {
  const url = new URL(negotiation.url);
  url.searchParams.set("id", negotiation.id);
  const link = new Link(name, handlers);
  const Transport = {
    WebSockets: WebSocketTransport,
    ServerSentEvents: ServerSentEventsTransport,
    LongPolling: LongPollingTransport,
  }[name];
  link.attach(new Transport(url, negotiation.accessToken, link));
  await link.open();
  return link;
}

/** One connection: the hub protocol over one transport. */
class Link {
  #handlers;
  #transport = null;
  #buffer = "";
  #handshake = null;
  #handshaken = false;
  #ended = false;
  #pingTimer = null;
  #serverTimer = null;
  #resolveClosed;

  constructor(name, handlers) {
    this.transport = name;
    this.#handlers = handlers;
    /** Resolves once with `{ error, allowReconnect }` when the connection ends. */
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  attach(transport) {
    this.#transport = transport;
  }

  /** Starts the transport and completes the handshake; rejects (and cleans up) on failure. */
  async open() {
    try {
      await this.#transport.connect();
      await new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no handshake answer within ${HANDSHAKE_TIMEOUT_MS / 1000} s`)),
          HANDSHAKE_TIMEOUT_MS,
        );
        this.#handshake = {
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        };
        this.#transport.send(JSON.stringify({ protocol: "json", version: 1 }) + RECORD_SEPARATOR);
      });
    } catch (error) {
      this.#handshake = null;
      this.#ended = true;
      this.#transport.stop(true);
      throw error;
    }
    this.#handshaken = true;
    this.#handshake = null;
    this.#armServerTimeout();
    this.#pingTimer = setInterval(() => this.#send({ type: MESSAGE_TYPE.ping }), PING_INTERVAL_MS);
  }

  /** Leaves the connection (the user stopped). */
  stop() {
    this.#end({ error: null, allowReconnect: false }, true);
  }

  /** Text from the transport: zero or more records, the last possibly incomplete. */
  receive(text) {
    if (this.#ended) {
      return;
    }
    if (this.#handshaken) {
      this.#armServerTimeout();
    }
    this.#buffer += text;
    const records = this.#buffer.split(RECORD_SEPARATOR);
    this.#buffer = records.pop();
    for (const record of records) {
      if (this.#ended) {
        return;
      }
      this.#record(record);
    }
  }

  /** The transport ended; `error` is null when it ended normally. */
  lost(error) {
    this.#fail(error ?? new Error("the server ended the connection"), false);
  }

  #record(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      this.#fail(new Error("the server sent a message that is not JSON"), true);
      return;
    }
    if (!this.#handshaken) {
      if (typeof message?.error === "string") {
        this.#handshake?.reject(new Error(`handshake refused: ${message.error}`));
      } else {
        this.#handshake?.resolve();
      }
      return;
    }
    switch (message?.type) {
      case MESSAGE_TYPE.invocation:
        this.#invoke(message);
        break;
      case MESSAGE_TYPE.close:
        this.#end(
          {
            error:
              typeof message.error === "string"
                ? new Error(`the server closed the connection: ${message.error}`)
                : null,
            allowReconnect: message.allowReconnect === true,
          },
          false,
        );
        break;
      default:
        // Pings only prove the server is there (see receive); nothing else is expected.
        break;
    }
  }

  #invoke(message) {
    const target = typeof message.target === "string" ? message.target : "";
    const args = Array.isArray(message.arguments) ? message.arguments : [];
    for (const handler of this.#handlers.get(target.toLowerCase()) ?? []) {
      try {
        handler(...args);
      } catch (error) {
        console.error(`signalr-lite: the ${target} handler failed`, error);
      }
    }
    if (typeof message.invocationId === "string") {
      this.#send({
        type: MESSAGE_TYPE.completion,
        invocationId: message.invocationId,
        error: "this client returns no results",
      });
    }
  }

  #send(message) {
    if (!this.#ended) {
      this.#transport.send(JSON.stringify(message) + RECORD_SEPARATOR);
    }
  }

  #armServerTimeout() {
    clearTimeout(this.#serverTimer);
    this.#serverTimer = setTimeout(
      () => this.#fail(new Error(`nothing heard from the server for ${SERVER_TIMEOUT_MS / 1000} s`), true),
      SERVER_TIMEOUT_MS,
    );
  }

  /** Before the handshake: fails it. After: ends the connection, to be reconnected. */
  #fail(error, leaving) {
    if (!this.#handshaken) {
      this.#handshake?.reject(error);
      return;
    }
    this.#end({ error, allowReconnect: true }, leaving);
  }

  /** Ends once; `leaving` tells the transport to tell the server (the server did not end it). */
  #end(outcome, leaving) {
    if (this.#ended) {
      return;
    }
    this.#ended = true;
    clearInterval(this.#pingTimer);
    clearTimeout(this.#serverTimer);
    this.#transport.stop(leaving);
    this.#resolveClosed(outcome);
  }
}
