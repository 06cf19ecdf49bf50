// The segment explorer: plain DOM calls over the service's JSON API. Every text from the API, persona text
// above all (it is written by an LLM), goes into the page with textContent, never as HTML.
"use strict";

const KEY_STORAGE = "segments-api-key";
const state = { snapshot: null, segments: [], members: null };

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  for (const child of children) node.append(child instanceof Node ? child : String(child));
  return node;
}

function svg(tag, attributes = {}, text) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function status(message, isError = false) {
  const line = document.getElementById("status");
  line.textContent = message;
  line.classList.toggle("error", isError);
}

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(path, params = {}) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value) query.set(name, value);
  if (state.snapshot && !("page_token" in params && params.page_token)) query.set("snapshot_date", state.snapshot);
  const headers = {};
  const key = sessionStorage.getItem(KEY_STORAGE);
  if (key) headers["X-API-Key"] = key;
  const response = await fetch(`${path}${query.size ? "?" + query : ""}`, { headers });
  const body = await response.json();
  if (!response.ok) {
    const error = body.error || { status: response.status, code: "error", message: response.statusText };
    if (response.status === 401) document.getElementById("key-form").hidden = false;
    throw new ApiError(error.status, error.code, error.message);
  }
  return body;
}

const number = new Intl.NumberFormat("en", { maximumFractionDigits: 2 });
const percent = new Intl.NumberFormat("en", { style: "percent", maximumFractionDigits: 1 });

function formatValue(value, unit) {
  if (value === null || value === undefined) return "–";
  if (typeof value !== "number") return String(value);
  if (unit === "ratio") return percent.format(value);
  return unit && unit !== "currency" ? `${number.format(value)} ${unit}` : number.format(value);
}

function profileChart(profile) {
  // One bar per feature: the segment's mean as a multiple of the whole base's (dashed line = 1×).
  const rowHeight = 22, labelWidth = 110, barWidth = 130, width = labelWidth + barWidth + 150;
  const scale = 2.5; // an index of 2.5× fills the bar area
  const height = profile.length * rowHeight + 8;
  const chart = svg("svg", {
    class: "chart", viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img",
    "aria-label": "Feature means against the customer base",
  });
  profile.forEach((feature, row) => {
    const y = row * rowHeight + 4;
    const index = feature.index ?? 0;
    const length = Math.min(index / scale, 1) * barWidth;
    chart.append(svg("text", { x: 0, y: y + 14 }, feature.feature));
    chart.append(svg("rect", {
      x: labelWidth, y: y + 3, width: Math.max(length, 1), height: 14, class: index >= 1 ? "above" : "below",
    }));
    chart.append(svg("text", { x: labelWidth + barWidth + 6, y: y + 14 },
      `${formatValue(feature.mean, feature.unit)} (${number.format(index)}×)`));
  });
  const base = labelWidth + barWidth / scale;
  chart.append(svg("line", { x1: base, x2: base, y1: 0, y2: height, class: "base" }));
  return chart;
}

function predictedValue(values) {
  if (!values) return null;
  const shown = Object.entries(values).filter(([, value]) => value !== null)
    .map(([name, value]) => {
      const shown = name.endsWith("_share") ? percent.format(value) : number.format(value);
      return `${name.replaceAll("_", " ")}: ${shown}`;
    });
  return shown.length ? el("p", { class: "value" }, shown.join(" · ")) : null;
}

function segmentCard(segment) {
  const persona = segment.persona;
  const title = persona ? persona.title : "(no persona yet)";
  const card = el("article", { class: "card", "data-segment-id": segment.segment_id },
    el("h2", {}, `Segment ${segment.segment_id} · `, title),
    el("p", { class: "sizes" },
      `${number.format(segment.customers)} customers · ${percent.format(segment.customer_share)} of customers · ` +
      `${percent.format(segment.revenue_share)} of revenue`));
  const value = predictedValue(segment.predicted_value);
  if (value) card.append(value);
  if (persona) {
    card.append(el("p", { class: "persona" }, persona.persona), el("p", { class: "summary" }, persona.summary));
    const steps = el("ol", { class: "steps", "aria-label": "Next marketing steps" });
    for (const step of persona.next_marketing_steps) steps.append(el("li", {}, step));
    card.append(steps, el("p", {}, `Channel: ${persona.recommended_channel} · written by ${persona.backend}`));
  }
  card.append(profileChart(segment.profile));
  const members = el("button", { type: "button" }, "Members");
  members.addEventListener("click", () => showMembers(segment.segment_id));
  card.append(members);
  return card;
}

async function loadSegments() {
  const body = await api("/segments");
  state.segments = body.segments;
  const main = document.getElementById("segments");
  main.replaceChildren(...body.segments.map(segmentCard));
  status(`Snapshot ${body.snapshot_date}: ${number.format(body.customers)} customers in ${body.segments.length} segments`);
}

function customerLink(customerId) {
  const link = el("button", { type: "button", class: "link" }, customerId);
  link.addEventListener("click", () => lookUp(String(customerId)));
  return link;
}

function memberRows(members, features) {
  return members.map((member) => el("tr", {},
    el("td", {}, customerLink(member.customer_id)),
    el("td", {}, number.format(member.distance)),
    ...features.map((name) => el("td", {}, formatValue(member.features[name])))));
}

async function showMembers(segmentId, pageToken) {
  const section = document.getElementById("members");
  try {
    const body = await api(`/segments/${segmentId}`, { page_size: 25, page_token: pageToken });
    const features = body.segment.profile.map((feature) => feature.feature).slice(0, 4);
    if (!pageToken) {
      const title = body.segment.persona ? body.segment.persona.title : "";
      const table = el("table", { id: "member-table" },
        el("thead", {}, el("tr", {}, el("th", {}, "customer"), el("th", {}, "distance"),
          ...features.map((name) => el("th", {}, name)))),
        el("tbody", {}));
      section.replaceChildren(el("h2", {}, `Members of segment ${segmentId} `, title), table);
    }
    section.querySelector("tbody").append(...memberRows(body.members, features));
    section.querySelector("#more-members")?.remove();
    if (body.next_page_token) {
      const more = el("button", { type: "button", id: "more-members" }, "More members");
      more.addEventListener("click", () => showMembers(segmentId, body.next_page_token));
      section.append(more);
    }
    section.hidden = false;
  } catch (error) {
    status(error.message, true);
  }
}

async function lookUp(customerId) {
  const section = document.getElementById("customer");
  document.getElementById("customer-id").value = customerId;
  try {
    const body = await api(`/customers/${encodeURIComponent(customerId.trim())}`);
    const persona = body.segment.persona;
    const features = el("table", {}, ...Object.entries(body.features).map(([name, value]) =>
      el("tr", {}, el("th", {}, name), el("td", {}, formatValue(value)))));
    const history = el("ul", { "aria-label": "Segment history" }, ...body.segment_history.map((entry) =>
      el("li", {}, `${entry.snapshot_date}: entered segment ${entry.segment_id}`)));
    section.replaceChildren(
      el("h2", {}, `Customer ${body.customer_id}: segment ${body.segment_id}`, persona ? ` · ${persona.title}` : ""),
      el("p", {}, persona ? persona.summary : "No persona for this segment yet."),
      features, history);
    const value = predictedValue(body.predicted_value);
    if (value) section.append(value);
    section.hidden = false;
    status(`Customer ${body.customer_id} in snapshot ${body.snapshot_date}`);
  } catch (error) {
    section.hidden = true;
    status(error.message, true);
  }
}

async function loadSnapshots() {
  const body = await api("/snapshots");
  const select = document.getElementById("snapshot");
  select.replaceChildren(...body.snapshots.slice().reverse().map((snapshot) =>
    el("option", { value: snapshot.snapshot_date }, snapshot.snapshot_date)));
  select.value = body.current;
  state.snapshot = null; // the current snapshot, whichever it is when each request arrives
}

async function start() {
  try {
    await loadSnapshots();
    await loadSegments();
  } catch (error) {
    status(error.message, true);
  }
}

document.getElementById("search").addEventListener("submit", (event) => {
  event.preventDefault();
  lookUp(document.getElementById("customer-id").value);
});
document.getElementById("snapshot").addEventListener("change", (event) => {
  state.snapshot = event.target.value;
  document.getElementById("members").hidden = true;
  loadSegments().catch((error) => status(error.message, true));
});
document.getElementById("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY_STORAGE, document.getElementById("api-key").value);
  document.getElementById("key-form").hidden = true;
  start();
});
start();
