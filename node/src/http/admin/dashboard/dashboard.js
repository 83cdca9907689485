// The cluster dashboard: reads GET api/admin/cluster (node/docs/admin-api.md) every 2 s and
// shows nodes, leases, feeds, the coordinator leader, traffic charts and the problems list.
// The page holds no data of its own; the admin token, when one is needed, is kept in
// sessionStorage and sent as `Authorization: Bearer`.
//
// Stable hooks for tests: #nodes tr[data-node=ID][data-state=STATE] (cells .state, .error,
// .connections, ...), #leases tr[data-lease=ID][data-owner=OWNER] (class "unowned" without an
// owner), #leader, #problems (one li per problem), #updated (time of the last successful
// refresh), #refreshes (successful refreshes), #error (last error, empty when fine), #login
// (hidden until a 401 or the header's button) with input[name=token], body[data-status] (live,
// offline, unauthorized, loading).

/** Relative to the page, so the dashboard also works behind a path prefix. */
const CLUSTER_URL = "api/admin/cluster";
/** How often the view is asked for, counted from the end of the previous answer. */
const REFRESH_MS = 2_000;
/** A node asks every other node with its own bound (cluster.request_timeout); this is ours. */
const REQUEST_TIMEOUT_MS = 10_000;
/** Where the admin token lives: this tab only, gone when it closes. */
const TOKEN_KEY = "herald.adminToken";
/** `history` holds one point per 10 s over the last 10 minutes. */
const HISTORY_SLOTS = 60;
/** The charts' viewBox. */
const CHART_WIDTH = 300;
const CHART_HEIGHT = 60;
const SVG = "http://www.w3.org/2000/svg";
const DASH = "–";

const $ = (id) => document.getElementById(id);
const elements = {
  status: $("status"),
  leader: $("leader"),
  leaderDetail: $("leader-detail"),
  answeredBy: $("answered-by"),
  updated: $("updated"),
  refreshes: $("refreshes"),
  error: $("error"),
  login: $("login"),
  token: $("login").elements.namedItem("token"),
  showLogin: $("show-login"),
  forget: $("forget"),
  problems: $("problems"),
  nodes: $("nodes").tBodies[0],
  leases: $("leases").tBodies[0],
  feeds: $("feeds").tBodies[0],
};
const CHARTS = [["in", "messages_in_per_second"], ["out", "messages_out_per_second"], ["changes", "changes_per_second"]].map(
  ([name, field]) => {
    const svg = $(`chart-${name}`);
    return { field, svg, label: svg.getAttribute("aria-label"), rate: $(`rate-${name}`), max: $(`max-${name}`) };
  },
);

/** A 401: the page needs (another) admin token. */
class Unauthorized extends Error {}
/** The API answered, but not with a view. */
class BadAnswer extends Error {}
/** The API did not answer within REQUEST_TIMEOUT_MS. */
class RequestTimeout extends Error {}

let refreshes = 0;
/** Failed refreshes since the last successful one. */
let failures = 0;
/** The token of this page load, when sessionStorage refuses to keep it. */
let memoryToken = "";
/** The AbortController of the request under way; a newer refresh (after a login) aborts it. */
let pending = null;
let timer = 0;
/** Whether a successful refresh closes the login form: true when a 401 or a login opened it. */
let closeLoginOnSuccess = false;

// ---- token -------------------------------------------------------------------------------

function storedToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? "";
  } catch {
    return "";
  }
}

function storeToken(token) {
  try {
    if (token) {
      sessionStorage.setItem(TOKEN_KEY, token);
    } else {
      sessionStorage.removeItem(TOKEN_KEY);
    }
  } catch {
    // Storage disabled: the token lasts until the page is left.
  }
  memoryToken = token;
}

function currentToken() {
  return storedToken() || memoryToken;
}

function showLogin(focus) {
  const wasHidden = elements.login.hidden;
  elements.login.hidden = false;
  elements.showLogin.setAttribute("aria-expanded", "true");
  if (focus && wasHidden) {
    elements.token.focus();
  }
}

function hideLogin() {
  elements.login.hidden = true;
  elements.showLogin.setAttribute("aria-expanded", "false");
}

elements.login.addEventListener("submit", (event) => {
  event.preventDefault();
  const token = elements.token.value.trim();
  if (token === "") {
    return;
  }
  storeToken(token);
  elements.token.value = "";
  closeLoginOnSuccess = true;
  refresh();
});

elements.forget.addEventListener("click", () => {
  storeToken("");
  elements.token.value = "";
  refresh();
});

elements.showLogin.addEventListener("click", () => {
  if (elements.login.hidden) {
    closeLoginOnSuccess = false;
    showLogin(true);
  } else {
    hideLogin();
  }
});

// ---- refresh loop ------------------------------------------------------------------------

/** Asks for the view now, then again REFRESH_MS after each answer or failure. */
async function refresh() {
  clearTimeout(timer);
  pending?.abort();
  const controller = new AbortController();
  pending = controller;
  const deadline = setTimeout(() => controller.abort(new RequestTimeout()), REQUEST_TIMEOUT_MS);
  const token = currentToken();
  try {
    const headers = { Accept: "application/json" };
    if (token !== "") {
      headers.Authorization = `Bearer ${token}`;
    }
    const response = await fetch(CLUSTER_URL, { headers, cache: "no-store", signal: controller.signal });
    if (!response.ok) {
      throw await answerError(response, token !== "");
    }
    let view;
    try {
      view = await response.json();
    } catch (error) {
      if (controller.signal.aborted) {
        throw error;
      }
      throw new BadAnswer("the admin API answered with something that is not JSON");
    }
    if (controller !== pending) {
      return;
    }
    render(view);
    succeeded();
  } catch (error) {
    if (controller === pending) {
      failed(error);
    }
  } finally {
    clearTimeout(deadline);
    if (controller === pending) {
      pending = null;
      timer = setTimeout(refresh, REFRESH_MS);
    }
  }
}

/** The error of an answer that is not 2xx, from its JSON `{code, message}` when it has one. */
async function answerError(response, sentToken) {
  let code = "";
  let message = "";
  try {
    const body = await response.json();
    code = typeof body?.code === "string" ? body.code : "";
    message = typeof body?.message === "string" ? body.message : "";
  } catch {
    // Not JSON (a proxy's page, say): the status says enough.
  }
  const detail = message || response.statusText;
  if (response.status === 401) {
    const what = sentToken ? "the admin token was refused" : "the admin API needs a token";
    return new Unauthorized(`${what} (401)${detail ? `: ${detail}` : ""}; enter the admin token`);
  }
  const status = code ? `${response.status} ${code}` : `${response.status}`;
  return new BadAnswer(`the admin API answered ${status}${detail ? `: ${detail}` : ""}`);
}

function succeeded() {
  refreshes += 1;
  failures = 0;
  const now = new Date();
  elements.refreshes.textContent = String(refreshes);
  elements.updated.dateTime = now.toISOString();
  elements.updated.textContent = now.toLocaleTimeString();
  elements.error.textContent = "";
  document.body.classList.add("has-view");
  setStatus("live", "live");
  if (closeLoginOnSuccess) {
    closeLoginOnSuccess = false;
    hideLogin();
  }
}

function failed(error) {
  failures += 1;
  if (error instanceof Unauthorized) {
    elements.error.textContent = error.message;
    setStatus("unauthorized", "sign-in needed");
    closeLoginOnSuccess = true;
    showLogin(true);
    return;
  }
  let text;
  let status;
  if (error instanceof RequestTimeout || error?.name === "TimeoutError") {
    text = `the admin API did not answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
    status = "no answer";
  } else if (error instanceof TypeError) {
    // What fetch rejects with when the listener is down or the network is cut.
    text = `the admin API is unreachable (${error.message})`;
    status = "unreachable";
  } else if (error instanceof BadAnswer) {
    text = error.message;
    status = "API error";
  } else {
    console.error(error);
    text = `could not show the answer: ${error?.message ?? error}`;
    status = "page error";
  }
  const attempts = failures === 1 ? "1 attempt failed" : `${failures} attempts failed`;
  elements.error.textContent = `${text}; retrying every ${REFRESH_MS / 1000} s (${attempts})`;
  setStatus("offline", refreshes > 0 ? `${status}: showing the last view` : status);
}

function setStatus(status, text) {
  document.body.dataset.status = status;
  elements.status.textContent = text;
}

// ---- rendering ---------------------------------------------------------------------------

function render(view) {
  const nodes = [...(view.nodes ?? [])].sort((a, b) => compare(a.id, b.id));
  const now = view.generated_at_ms ?? Date.now();
  renderSummary(view);
  elements.problems.replaceChildren(...(view.problems ?? []).map((problem) => el("li", {}, problem)));
  elements.nodes.replaceChildren(...nodes.map(nodeRow));
  const live = new Set(nodes.filter((n) => n.state !== "unreachable").map((n) => n.id));
  elements.leases.replaceChildren(...(view.leases ?? []).map((lease) => leaseRow(lease, live, now)));
  elements.feeds.replaceChildren(...(view.feeds ?? []).map(feedRow));
  for (const chart of CHARTS) {
    drawChart(chart, nodes);
  }
}

function renderSummary(view) {
  const coordinator = view.coordinator;
  elements.leader.textContent = coordinator ? coordinator.leader : "none";
  elements.leader.classList.toggle("bad", !coordinator);
  elements.leaderDetail.textContent = coordinator
    ? `token ${coordinator.token}, since ${clock(coordinator.since_ms)}`
    : "";
  const mode = view.clustered === false ? " (standalone)" : "";
  elements.answeredBy.textContent = `${view.answered_by ?? DASH}${mode}`;
}

function nodeRow(node) {
  const connections = node.connections;
  const backplane = node.backplane;
  const rates = node.rates;
  const leases = node.leases;
  const details = [node.url && `clients ${node.url}`, node.admin_url && `admin ${node.admin_url}`]
    .filter(Boolean)
    .join("\n");
  return el(
    "tr",
    { "data-node": node.id, "data-state": node.state },
    el("th", { scope: "row", class: "id", title: details }, node.id, el("small", {}, node.version ?? "")),
    el(
      "td",
      { class: "state-cell" },
      el("span", { class: "state badge", "data-state": node.state }, node.state),
      el("span", { class: "error" }, node.error ?? ""),
    ),
    number("uptime", duration(node.uptime_seconds)),
    number("connections", connections?.total),
    el("td", { class: "transports" }, transports(connections?.by_transport)),
    el(
      "td",
      { class: "backplane" },
      backplane ? el("span", { class: "badge", "data-state": backplane.state }, backplane.state) : DASH,
      el("span", { class: "error" }, backplane?.error ?? ""),
    ),
    number("buffered", backplane ? bytes(backplane.buffered_bytes) : null),
    number("in", rate(rates?.messages_in_per_second)),
    number("out", rate(rates?.messages_out_per_second)),
    number("changes", rate(rates?.changes_per_second)),
    number("leases", leases?.length, leases?.join(", ")),
  );
}

function leaseRow(lease, live, now) {
  const owner = lease.owner ?? null;
  const classes = [owner === null ? "unowned" : "", owner !== null && !live.has(owner) ? "owner-down" : ""];
  const age = lease.last_batch_at_ms == null ? null : ago(now - lease.last_batch_at_ms);
  return el(
    "tr",
    { "data-lease": lease.id, "data-owner": owner ?? "", class: classes.filter(Boolean).join(" ") },
    el("th", { scope: "row", class: "id" }, lease.id),
    el("td", { class: "owner" }, owner ?? "unowned"),
    number("epoch", lease.epoch),
    number("lag", lease.lag),
    number("age", age, lease.last_batch_at_ms == null ? undefined : clock(lease.last_batch_at_ms)),
    el("td", { class: "checkpoint" }, lease.checkpoint ?? DASH),
  );
}

function feedRow(feed) {
  return el(
    "tr",
    { "data-feed": feed.feed, class: feed.owned < feed.leases ? "unowned" : "" },
    el("th", { scope: "row", class: "id" }, feed.feed),
    number("leases", feed.leases),
    number("owned", feed.owned),
    number("lag", feed.lag),
    number("changes", rate(feed.changes_per_second)),
    number("errors", feed.errors_total),
  );
}

/** A right-aligned cell; null or undefined shows a dash. */
function number(name, value, title) {
  return el("td", { class: `number ${name}`, title }, value == null ? DASH : String(value));
}

// ---- charts ------------------------------------------------------------------------------

/**
 * The sum over nodes of one field of `history`, oldest first. Nodes sample on their own
 * clocks, so their histories are aligned by age (newest last), not by timestamp.
 */
function summedHistory(nodes, field) {
  const histories = nodes.map((node) => (node.history ?? []).slice(-HISTORY_SLOTS));
  const length = Math.max(0, ...histories.map((history) => history.length));
  const sums = new Array(length).fill(0);
  for (const history of histories) {
    const offset = length - history.length;
    history.forEach((point, i) => {
      sums[offset + i] += Number(point[field]) || 0;
    });
  }
  return sums;
}

function drawChart(chart, nodes) {
  const values = summedHistory(nodes, chart.field);
  const reporting = nodes.filter((node) => node.rates);
  const current = reporting.reduce((sum, node) => sum + (Number(node.rates[chart.field]) || 0), 0);
  chart.rate.textContent = reporting.length > 0 ? rate(current) : DASH;
  chart.svg.dataset.points = String(values.length);
  if (values.length === 0) {
    chart.svg.replaceChildren();
    chart.max.textContent = "no history yet";
    return;
  }
  const max = Math.max(...values);
  const top = max > 0 ? max : 1;
  // Newest point on the right edge; one slot per 10 s, the full width is 10 minutes.
  const step = CHART_WIDTH / (HISTORY_SLOTS - 1);
  const drawn = values.length === 1 ? [values[0], values[0]] : values;
  const x = (i) => CHART_WIDTH - (drawn.length - 1 - i) * step;
  const y = (v) => CHART_HEIGHT - 2 - (v / top) * (CHART_HEIGHT - 4);
  const line = drawn.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
  const area = `${x(0).toFixed(1)},${CHART_HEIGHT} ${line} ${CHART_WIDTH},${CHART_HEIGHT}`;
  chart.svg.replaceChildren(
    svg("polygon", { class: "area", points: area }),
    svg("polyline", { class: "line", points: line, "vector-effect": "non-scaling-stroke" }),
  );
  chart.max.textContent = `peak ${rate(max)}/s`;
  chart.svg.setAttribute("aria-label", `${chart.label}, peak ${rate(max)}`);
}

function svg(tag, attributes) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) {
    node.setAttribute(name, value);
  }
  return node;
}

// ---- formatting --------------------------------------------------------------------------

/** An element with attributes (null, undefined and "" are left out) and text or children. */
function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value == null || value === "") {
      continue;
    }
    if (name === "class") {
      node.className = value;
    } else {
      node.setAttribute(name, String(value));
    }
  }
  node.append(...children.map((child) => (child instanceof Node ? child : String(child))));
  return node;
}

function compare(a, b) {
  return String(a).localeCompare(String(b), "en", { numeric: true });
}

/** The transports in the order clients try them, with short names. */
const TRANSPORTS = [["WebSockets", "WS"], ["ServerSentEvents", "SSE"], ["LongPolling", "LP"]];

function transports(byTransport) {
  if (!byTransport) {
    return DASH;
  }
  const rank = (name) => {
    const i = TRANSPORTS.findIndex(([full]) => full === name);
    return i < 0 ? TRANSPORTS.length : i;
  };
  const short = (name) => TRANSPORTS.find(([full]) => full === name)?.[1] ?? name;
  const parts = Object.entries(byTransport)
    .sort(([a], [b]) => rank(a) - rank(b) || compare(a, b))
    .map(([name, count]) => `${short(name)} ${count}`);
  return parts.length > 0 ? parts.join(" · ") : "none";
}

function rate(value) {
  if (value == null || !Number.isFinite(Number(value))) {
    return null;
  }
  const v = Number(value);
  const digits = v === 0 || Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
  return v.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

function bytes(value) {
  if (value == null) {
    return null;
  }
  const units = ["B", "KiB", "MiB", "GiB"];
  let v = Number(value);
  let unit = 0;
  while (v >= 1024 && unit < units.length - 1) {
    v /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${v} B` : `${v.toFixed(1)} ${units[unit]}`;
}

function duration(seconds) {
  if (seconds == null) {
    return null;
  }
  const s = Math.max(0, Math.floor(seconds));
  const [d, h, m] = [Math.floor(s / 86_400), Math.floor((s % 86_400) / 3_600), Math.floor((s % 3_600) / 60)];
  if (d > 0) {
    return `${d} d ${h} h`;
  }
  if (h > 0) {
    return `${h} h ${m} min`;
  }
  return m > 0 ? `${m} min ${s % 60} s` : `${s} s`;
}

function ago(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) {
    return `${s} s ago`;
  }
  return s < 3_600 ? `${Math.floor(s / 60)} min ago` : `${Math.floor(s / 3_600)} h ago`;
}

function clock(ms) {
  return ms == null ? DASH : new Date(ms).toLocaleTimeString();
}

refresh();
