// The three SignalR transports for signalr-lite, in the browser: WebSockets, Server-Sent Events
// and long polling (the last two send with HTTP POST). Each is built with (url, accessToken,
// sink), where url is the hub URL with the connection's id; it calls sink.receive(text) for
// what arrives and sink.lost(error) once when it ends without being stopped (error null when
// the server ended it normally). connect() resolves once it is open; send(text) queues text;
// stop(leaving) ends it, telling the server when `leaving` and the transport has a way to.

/** Headers that carry the token on requests a script makes (fetch). */
export function authHeaders(accessToken) {
  return accessToken ? { Authorization: `Bearer ${accessToken}` } : {};
}

/** WebSockets: one socket both ways; the token travels in the query. */
export class WebSocketTransport {
  #url;
  #sink;
  #socket = null;

  constructor(url, accessToken, sink) {
    this.#url = new URL(url);
    this.#url.protocol = this.#url.protocol === "https:" ? "wss:" : "ws:";
    if (accessToken) {
      this.#url.searchParams.set("access_token", accessToken);
    }
    this.#sink = sink;
  }

  connect() {
    return new Promise((resolve, reject) => {
      let opened = false;
      const socket = new WebSocket(this.#url);
      this.#socket = socket;
      socket.onopen = () => {
        opened = true;
        resolve();
      };
      socket.onmessage = (event) => {
        if (typeof event.data === "string") {
          this.#sink.receive(event.data);
        } else {
          this.#sink.lost(new Error("a binary frame arrived on a JSON connection"));
        }
      };
      socket.onclose = (event) => {
        if (!opened) {
          reject(new Error(`the WebSocket did not open (close code ${event.code})`));
          return;
        }
        const reason = event.reason ? `: ${event.reason}` : "";
        this.#sink.lost(
          event.code === 1000 ? null : new Error(`the WebSocket closed (code ${event.code}${reason})`),
        );
      };
    });
  }

  send(text) {
    if (this.#socket?.readyState === WebSocket.OPEN) {
      this.#socket.send(text);
    }
  }

  stop() {
    const socket = this.#socket;
    this.#socket = null;
    if (socket) {
      socket.onopen = null;
      socket.onmessage = null;
      socket.onclose = null;
      socket.close(1000);
    }
  }
}

/** HTTP POST, the sending half of Server-Sent Events and long polling: one send at a time. */
class Poster {
  #url;
  #accessToken;
  #sink;
  #queue = [];
  #busy = false;
  #stopped = false;

  constructor(url, accessToken, sink) {
    this.#url = url;
    this.#accessToken = accessToken;
    this.#sink = sink;
  }

  send(text) {
    if (this.#stopped) {
      return;
    }
    this.#queue.push(text);
    if (!this.#busy) {
      this.#flush();
    }
  }

  stop() {
    this.#stopped = true;
    this.#queue = [];
  }

  async #flush() {
    this.#busy = true;
    while (this.#queue.length > 0 && !this.#stopped) {
      // The server refuses a second send while one is in flight (409): send what queued as one.
      const body = this.#queue.join("");
      this.#queue = [];
      let failure = null;
      try {
        const response = await fetch(this.#url, {
          method: "POST",
          body,
          headers: { ...authHeaders(this.#accessToken), "Content-Type": "text/plain;charset=UTF-8" },
          cache: "no-store",
        });
        if (!response.ok) {
          failure = new Error(`a send answered ${response.status}`);
        }
      } catch (error) {
        failure = new Error(`a send failed: ${error.message}`);
      }
      if (failure !== null) {
        if (!this.#stopped) {
          this.#sink.lost(failure);
        }
        break;
      }
    }
    this.#busy = false;
  }
}

/** Server-Sent Events to receive (token in the query: EventSource sends no headers), POST to send. */
export class ServerSentEventsTransport {
  #url;
  #sink;
  #poster;
  #source = null;

  constructor(url, accessToken, sink) {
    this.#url = new URL(url);
    if (accessToken) {
      this.#url.searchParams.set("access_token", accessToken);
    }
    this.#sink = sink;
    this.#poster = new Poster(url, accessToken, sink);
  }

  connect() {
    return new Promise((resolve, reject) => {
      let opened = false;
      const source = new EventSource(this.#url);
      this.#source = source;
      source.onopen = () => {
        opened = true;
        resolve();
      };
      source.onmessage = (event) => this.#sink.receive(event.data);
      source.onerror = () => {
        // EventSource would reconnect by itself, to a connection the server has ended.
        source.close();
        if (opened) {
          this.#sink.lost(new Error("the event stream ended"));
        } else {
          reject(new Error("the event stream did not open"));
        }
      };
    });
  }

  send(text) {
    this.#poster.send(text);
  }

  stop() {
    this.#poster.stop();
    const source = this.#source;
    this.#source = null;
    if (source) {
      source.onopen = null;
      source.onmessage = null;
      source.onerror = null;
      source.close();
    }
  }
}

/** Long polling to receive (a GET that waits for messages, again and again), POST to send. */
export class LongPollingTransport {
  #url;
  #accessToken;
  #sink;
  #poster;
  #abort = new AbortController();
  #running = false;

  constructor(url, accessToken, sink) {
    this.#url = url;
    this.#accessToken = accessToken;
    this.#sink = sink;
    this.#poster = new Poster(url, accessToken, sink);
  }

  async connect() {
    // The first poll answers at once: it only tells that the connection is there.
    let response;
    try {
      response = await this.#poll();
    } catch (error) {
      throw new Error(`the first poll failed: ${error.message}`);
    }
    if (response.status !== 200) {
      throw new Error(`the first poll answered ${response.status}`);
    }
    this.#running = true;
    this.#loop();
  }

  send(text) {
    this.#poster.send(text);
  }

  stop(leaving) {
    const wasRunning = this.#running;
    this.#running = false;
    this.#poster.stop();
    this.#abort.abort();
    if (leaving && wasRunning) {
      fetch(this.#url, {
        method: "DELETE",
        headers: authHeaders(this.#accessToken),
        keepalive: true,
      }).catch(() => {});
    }
  }

  #poll() {
    const url = new URL(this.#url);
    url.searchParams.set("_", String(Date.now()));
    return fetch(url, {
      headers: authHeaders(this.#accessToken),
      cache: "no-store",
      signal: this.#abort.signal,
    });
  }

  async #loop() {
    while (this.#running) {
      let response;
      let text = "";
      try {
        response = await this.#poll();
        if (response.status === 200) {
          text = await response.text();
        }
      } catch (error) {
        this.#end(new Error(`a poll failed: ${error.message}`));
        return;
      }
      if (!this.#running) {
        return;
      }
      if (response.status === 204) {
        // The server ended the connection.
        this.#end(null);
        return;
      }
      if (response.status !== 200) {
        this.#end(new Error(`a poll answered ${response.status}`));
        return;
      }
      if (text.length > 0) {
        this.#sink.receive(text);
      }
    }
  }

  #end(error) {
    if (this.#running) {
      this.#running = false;
      this.#poster.stop();
      this.#sink.lost(error);
    }
  }
}
