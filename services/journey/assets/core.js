// Shared by the panels: the caller's token, API calls with it, DOM building and formatting.
// The dashboard shows only what the API returns for the token: site scope is the API's job.

// token.js took it out of the address (`/?token=...`) and keeps it in this tab only; it
// travels in the Authorization header, never in a URL.
export const TOKEN = sessionStorage.getItem("carepath.token");

export function claims() {
  try {
    const part = TOKEN.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part));
  } catch { return null; }
}

export class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

export async function getJson(path) {
  const headers = { accept: "application/json" };
  if (TOKEN) headers.authorization = `Bearer ${TOKEN}`;
  const response = await fetch(path, { headers });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    const detail = response.status === 401
      ? "needs a token: open the URL `make run` printed (/?token=...)"
      : (typeof body.detail === "string" ? body.detail : response.statusText);
    throw new ApiError(response.status, detail);
  }
  return response.json();
}

export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    // Through the CSSOM: the page's Content-Security-Policy refuses style attributes.
    else if (key === "style") Object.assign(node.style, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function svg(tag, attrs, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value !== null && value !== undefined) node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
  return node;
}

export const when = (iso) => iso ? new Date(iso).toLocaleString() : "—";
export const clock = (iso) => new Date(iso).toLocaleTimeString();
export const short = (id) => id ? id.slice(0, 8) : "—";
export const label = (stage) => ({ php: "PHP", iop: "IOP" })[stage] || stage;

// A panel the caller's role may not read says so instead of failing the whole page.
export function showFailure(target, error) {
  const text = error.status === 403 ? "Not available for your role."
    : `Could not load: ${error.message}`;
  target.replaceChildren(el("p", { class: error.status === 403 ? "muted" : "error" }, text));
}

export function clientButton(ref, open) {
  return el("button", { type: "button", class: "link", "data-client": ref,
                        "aria-label": `Show the journey of ${ref}`, onclick: () => open(ref) }, ref);
}
