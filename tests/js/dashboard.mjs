// Loads Herald's cluster dashboard (the admin listener's `/`) in headless Chromium (Debian's
// /usr/bin/chromium, driven by playwright-core) and reports what the page shows, for herald's
// integration tests.
//
// Usage: node dashboard.mjs '<json config>'
//   config: { url, executablePath?: string (default /usr/bin/chromium), intervalMs?: number }
// Commands, one JSON line each on stdin, run in order:
//   {"cmd":"login","token":"..."}   types the token into #login and submits it
//   {"cmd":"screenshot","path":"/abs/file.png"}   a full-page screenshot
//   {"cmd":"reload"}   reloads the page (sessionStorage survives)
// Prints one JSON line per event on stdout:
//   {"event":"launched"}   {"event":"loaded","status":200,"contentType":...}
//   {"event":"state","status":"live","loadedAt":..., "nodes":{"n1":{"state":"ready",...}},
//    "leases":{"orders/0":{"owner":"n1","unowned":false,...}}, "leader":"c1", "problems":[...],
//    "updated":"...", "refreshes":3, "error":"", "login":false, "charts":{"in":60,...}}
//     (whenever what the page shows changes)
//   {"event":"api","url":...,"status":200,"authorized":true}   (each answer of /api/admin/*)
//   {"event":"done","cmd":"login"}   {"event":"failed","cmd":"login","message":...}
//   {"event":"console","type":"error","text":...}   {"event":"pageerror","message":...}
//   {"event":"error","message":...} (the driver failed)   {"event":"closed"}
// End of stdin (or SIGTERM) closes the browser and exits.

import { chromium } from "playwright-core";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";

const config = JSON.parse(process.argv[2] ?? "{}");
const executablePath = config.executablePath ?? "/usr/bin/chromium";
const intervalMs = config.intervalMs ?? 100;
/** How long a command may wait for the element it acts on. */
const COMMAND_TIMEOUT_MS = 10_000;
/** Reading the page fails while it navigates; this many failures in a row end the driver. */
const MAX_READ_FAILURES = 100;

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
function readDashboard() {
  const text = (selector, root = document) => root.querySelector(selector)?.textContent?.trim() ?? "";
  const nodes = {};
  for (const row of document.querySelectorAll("#nodes tr[data-node]")) {
    nodes[row.dataset.node] = {
      state: row.dataset.state ?? "",
      error: text(".state-cell .error", row),
      connections: text(".connections", row),
      backplane: text(".backplane .badge", row),
    };
  }
  const leases = {};
  for (const row of document.querySelectorAll("#leases tr[data-lease]")) {
    leases[row.dataset.lease] = {
      owner: row.dataset.owner ?? "",
      unowned: row.classList.contains("unowned"),
      epoch: text(".epoch", row),
      lag: text(".lag", row),
    };
  }
  const login = document.querySelector("#login");
  const points = (id) => Number.parseInt(document.getElementById(id)?.dataset.points ?? "0", 10);
  return {
    status: document.body?.dataset.status ?? "",
    loadedAt: performance.timeOrigin,
    nodes,
    leases,
    leader: text("#leader"),
    problems: [...document.querySelectorAll("#problems li")].map((li) => li.textContent.trim()),
    updated: text("#updated"),
    refreshes: Number.parseInt(text("#refreshes") || "0", 10),
    error: text("#error"),
    login: login !== null && !login.hidden && login.getClientRects().length > 0,
    charts: { in: points("chart-in"), out: points("chart-out"), changes: points("chart-changes") },
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

async function run(command) {
  switch (command.cmd) {
    case "login":
      await page.fill("#login input[name=token]", command.token, { timeout: COMMAND_TIMEOUT_MS });
      await page.click("#login button[type=submit]", { timeout: COMMAND_TIMEOUT_MS });
      return {};
    case "screenshot":
      await mkdir(dirname(command.path), { recursive: true });
      await page.screenshot({ path: command.path, fullPage: true });
      return { path: command.path };
    case "reload": {
      const response = await page.reload({ waitUntil: "load" });
      return { status: response?.status() ?? null };
    }
    default:
      throw new Error(`unknown command ${JSON.stringify(command.cmd)}`);
  }
}

// Commands run one after another, in the order they arrive.
let queue = Promise.resolve();
const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  queue = queue.then(async () => {
    let command;
    try {
      command = JSON.parse(line);
      const result = await run(command);
      emit({ event: "done", cmd: command.cmd, ...result });
    } catch (error) {
      emit({ event: "failed", cmd: command?.cmd ?? null, message: error?.message ?? String(error) });
    }
  });
});
lines.on("close", () => queue.then(() => close(0)));
process.on("SIGTERM", () => close(0));

try {
  userDataDir = await mkdtemp(join(tmpdir(), "herald-chromium-"));
  // launchPersistentContext passes --user-data-dir itself: a fresh profile per run.
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 900 },
  });
  emit({ event: "launched" });
  page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") {
      emit({ event: "console", type: message.type(), text: message.text() });
    }
  });
  page.on("pageerror", (error) => emit({ event: "pageerror", message: error.message }));
  page.on("response", async (response) => {
    if (!new URL(response.url()).pathname.includes("/api/admin/")) {
      return;
    }
    const headers = await response.request().allHeaders().catch(() => ({}));
    emit({
      event: "api",
      url: response.url(),
      status: response.status(),
      authorized: (headers.authorization ?? "").startsWith("Bearer "),
    });
  });
  const response = await page.goto(config.url, { waitUntil: "load" });
  emit({
    event: "loaded",
    status: response?.status() ?? null,
    contentType: response?.headers()["content-type"] ?? null,
  });
  let last = "";
  let failures = 0;
  while (!closing) {
    try {
      const state = await page.evaluate(readDashboard);
      failures = 0;
      const line = JSON.stringify(state);
      if (line !== last) {
        last = line;
        emit({ event: "state", ...state });
      }
    } catch (error) {
      // A reload destroys the context being read; the next read sees the new page.
      failures += 1;
      if (!closing && failures >= MAX_READ_FAILURES) {
        throw error;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
} catch (error) {
  emit({ event: "error", message: error?.message ?? String(error) });
  await close(1);
}
