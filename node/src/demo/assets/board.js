// The stock board: one row per symbol, updated by every stockUpdated(document, meta) pushed on
// hub "stocks". Stable hooks for tests: #status (also data-status), #transport, #updates,
// tr[data-symbol=S] with .price, .change and .time cells (data-direction up / down / same).
//
// Page query: ?access_token=<client token> when Herald requires one (herald token --hub
// stocks); ?transport=ServerSentEvents (repeatable) to restrict the transports tried.

import { HubConnection, TRANSPORTS } from "./signalr-lite.js";

/** The hub's Azure-style client URL, relative to the page. */
const HUB_URL = "client/?hub=stocks";
/** The hub method that carries a changed document. */
const TARGET = "stockUpdated";
/** Dedupe keys remembered; a change delivered twice arrives within a short window. */
const KEYS_REMEMBERED = 2_000;
/** How a price and a change are written. */
const NUMBER = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

const elements = {
  status: document.getElementById("status"),
  transport: document.getElementById("transport"),
  updates: document.getElementById("updates"),
  error: document.getElementById("error"),
  reconnect: document.getElementById("reconnect"),
  rows: document.getElementById("rows"),
  empty: document.getElementById("empty"),
  lastChange: document.getElementById("last-change"),
};

/** symbol → { row, price } */
const board = new Map();
const seenKeys = new Set();
let updates = 0;

for (const origin of document.querySelectorAll(".origin")) {
  origin.textContent = location.origin;
}

const query = new URLSearchParams(location.search);
const connection = new HubConnection(new URL(HUB_URL, document.baseURI), {
  accessToken: query.get("access_token"),
  transports: query.getAll("transport").filter((name) => TRANSPORTS.includes(name)),
});
connection.on(TARGET, applyUpdate);
connection.onStatus(showStatus);
elements.reconnect.addEventListener("click", () => connection.start());
// Leave cleanly (long polling tells the server) and come back from the back-forward cache.
addEventListener("pagehide", () => connection.stop());
addEventListener("pageshow", (event) => {
  if (event.persisted) {
    connection.start();
  }
});

function showStatus({ status, transport, error }) {
  elements.status.textContent = status;
  elements.status.dataset.status = status;
  elements.transport.textContent = transport ?? "none";
  elements.error.textContent = error ? error.message : "";
  elements.error.hidden = !error;
  elements.reconnect.hidden = status !== "disconnected";
}

function applyUpdate(doc, meta) {
  if (doc === null || typeof doc !== "object") {
    return;
  }
  const key = meta?.key;
  if (typeof key === "string" || typeof key === "number") {
    if (seenKeys.has(key)) {
      return;
    }
    remember(key);
  }
  const symbol = textField(doc.symbol) ?? textField(doc.id);
  if (symbol === null) {
    return;
  }
  const entry = board.get(symbol) ?? addRow(symbol);
  const price = Number.isFinite(doc.price) ? doc.price : null;
  const previous = entry.price;
  let change = Number.isFinite(doc.change) ? doc.change : null;
  if (change === null && price !== null && previous !== null) {
    change = price - previous;
  }
  const direction = directionOf(price, previous, change);

  entry.price = price ?? previous;
  const cells = entry.cells;
  cells.price.textContent = price === null ? cells.price.textContent : NUMBER.format(price);
  cells.change.textContent = change === null ? "" : signed(change);
  cells.change.className = `change number ${change > 0 ? "up" : change < 0 ? "down" : ""}`.trim();
  const now = new Date();
  cells.time.textContent = now.toLocaleTimeString();
  cells.time.dateTime = now.toISOString();
  entry.row.dataset.direction = direction;
  flash(entry.row, direction);

  updates += 1;
  elements.updates.textContent = String(updates);
  elements.empty.hidden = true;
  if (meta !== null && typeof meta === "object" && meta.feed !== undefined) {
    elements.lastChange.textContent =
      `Last change: feed ${meta.feed}, partition ${meta.partition}, position ${meta.position}`;
  }
}

function remember(key) {
  seenKeys.add(key);
  if (seenKeys.size > KEYS_REMEMBERED) {
    // A Set iterates in insertion order: the first key is the oldest.
    seenKeys.delete(seenKeys.values().next().value);
  }
}

function textField(value) {
  if (typeof value === "string" && value.length > 0) {
    return value;
  }
  return typeof value === "number" ? String(value) : null;
}

function directionOf(price, previous, change) {
  if (price !== null && previous !== null && price !== previous) {
    return price > previous ? "up" : "down";
  }
  if (previous === null && change !== null && change !== 0) {
    return change > 0 ? "up" : "down";
  }
  return "same";
}

function signed(value) {
  const text = NUMBER.format(Math.abs(value));
  return value > 0 ? `+${text}` : value < 0 ? `\u2212${text}` : text;
}

/** A new row, inserted so the board stays sorted by symbol. */
function addRow(symbol) {
  const row = document.createElement("tr");
  row.dataset.symbol = symbol;
  const name = cell("th", "symbol", symbol);
  name.scope = "row";
  const cells = {
    price: cell("td", "price number", ""),
    change: cell("td", "change number", ""),
    time: cell("time", "", ""),
  };
  const timeCell = cell("td", "time", "");
  timeCell.append(cells.time);
  row.append(name, cells.price, cells.change, timeCell);
  const after = [...board.keys()].filter((other) => other > symbol).sort()[0];
  elements.rows.insertBefore(row, after === undefined ? null : board.get(after).row);
  const entry = { row, cells, price: null };
  board.set(symbol, entry);
  return entry;
}

function cell(tag, className, text) {
  const element = document.createElement(tag);
  if (className) {
    element.className = className;
  }
  element.textContent = text;
  return element;
}

/** Restarts the row's flash animation (removing and re-adding the class alone would not). */
function flash(row, direction) {
  row.classList.remove("flash-up", "flash-down");
  if (direction === "same") {
    return;
  }
  void row.offsetWidth;
  row.classList.add(direction === "up" ? "flash-up" : "flash-down");
}

connection.start();
