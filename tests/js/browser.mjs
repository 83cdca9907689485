// Loads Herald's demo page in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) and reports what the page shows, for herald's integration tests.
//
// Usage: node browser.mjs '<json config>'
//   config: { url, executablePath?: string (default /usr/bin/chromium), intervalMs?: number }
// Prints one JSON line per event on stdout:
//   {"event":"launched"}                      {"event":"loaded","status":200,"contentType":...}
//   {"event":"state","status":"connected","transport":"WebSockets","updates":3,"error":"",
//    "rows":{"MSFT":{"price":"431.20","change":"−0.40","time":"...","direction":"down"}}}
//     (whenever what the page shows changes)
//   {"event":"console","type":"error","text":...}   {"event":"pageerror","message":...}
//   {"event":"error","message":...} (the driver failed)   {"event":"closed"}
// End of stdin (or SIGTERM) leaves the page (to about:blank), closes the browser and exits.

import { chromium } from "playwright-core";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const config = JSON.parse(process.argv[2] ?? "{}");
const executablePath = config.executablePath ?? "/usr/bin/chromium";
const intervalMs = config.intervalMs ?? 100;

const ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

function emit(event) {
  process.stdout.write(JSON.stringify(event) + "\n");
}

/** What the page shows, read from its DOM (runs in the page). */
function readBoard() {
  const text = (selector, root = document) => root.querySelector(selector)?.textContent?.trim() ?? null;
  const rows = {};
  for (const row of document.querySelectorAll("tr[data-symbol]")) {
    rows[row.dataset.symbol] = {
      price: text(".price", row),
      change: text(".change", row),
      time: text(".time", row),
      direction: row.dataset.direction ?? null,
    };
  }
  return {
    status: text("#status"),
    transport: text("#transport"),
    updates: Number.parseInt(text("#updates") ?? "", 10),
    error: text("#error"),
    rows,
  };
}

let context = null;
let page = null;
let userDataDir = null;
let closing = false;

async function close(code) {
  if (closing) {
    return;
  }
  closing = true;
  try {
    // Leave the page as a user does, so it can say goodbye (long polling sends DELETE).
    await page?.goto("about:blank");
  } catch {
    // The page is gone already.
  }
  try {
    await context?.close();
  } catch {
    // The browser is gone already.
  }
  if (userDataDir !== null) {
    await rm(userDataDir, { recursive: true, force: true }).catch(() => {});
  }
  emit({ event: "closed" });
  process.exit(code);
}

process.stdin.on("end", () => close(0));
process.stdin.resume();
process.on("SIGTERM", () => close(0));

try {
  userDataDir = await mkdtemp(join(tmpdir(), "herald-chromium-"));
  // launchPersistentContext passes --user-data-dir itself: a fresh profile per run.
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: ARGS,
  });
  emit({ event: "launched" });
  page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") {
      emit({ event: "console", type: message.type(), text: message.text() });
    }
  });
  page.on("pageerror", (error) => emit({ event: "pageerror", message: error.message }));
  const response = await page.goto(config.url, { waitUntil: "load" });
  emit({
    event: "loaded",
    status: response?.status() ?? null,
    contentType: response?.headers()["content-type"] ?? null,
  });
  let last = "";
  while (!closing) {
    let state;
    try {
      state = await page.evaluate(readBoard);
    } catch (error) {
      if (closing) {
        break;
      }
      throw error;
    }
    const line = JSON.stringify(state);
    if (line !== last) {
      last = line;
      emit({ event: "state", ...state });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
} catch (error) {
  emit({ event: "error", message: error?.message ?? String(error) });
  await close(1);
}
