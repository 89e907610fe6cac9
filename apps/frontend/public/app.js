// User Buy List UI. Plain DOM: every user- or server-supplied value is rendered as text, never parsed as HTML.
"use strict";

(() => {
  // Relative, so the UI also works when an ingress serves it under a path prefix.
  const API = "api/";
  const PAGE_SIZE = 20;
  // Above nginx's 10 s read timeout, so its answer (a clear 504) normally arrives before we give up.
  const REQUEST_TIMEOUT_MS = 15000;
  // Purchases reach the list through Kafka: poll for the new one for about five seconds.
  const APPEAR_DELAYS_MS = [250, 350, 500, 700, 900, 1100, 1300];

  // The same rules as customer-facing, so a form the UI accepts is one the server accepts.
  const USERNAME_MAX = 100;
  const CONTROL_RE = /[\u0000-\u001f\u007f]/;
  const USERID_MAX = 64;
  const USERID_RE = /^[A-Za-z0-9._@:-]+$/;
  const PRICE_RE = /^(?:\d+(?:\.\d*)?|\.\d+)$/;
  const PRICE_MAX = 1000000;

  const TEXT = {
    network: "Could not reach the server. Check your connection and try again.",
    timeout: "The server took too long to answer. Try again.",
    unreachable: "The purchase service is not answering right now. Try again in a moment.",
    tooMany: "Too many requests right now. Try again in a moment.",
    unexpected: "The server sent an unexpected answer. Try again.",
  };

  const el = (id) => document.getElementById(id);
  const ui = {
    buyForm: el("buy-form"),
    username: el("username"),
    userid: el("userid"),
    price: el("price"),
    buySubmit: el("buy-submit"),
    buyStatus: el("buy-status"),
    listForm: el("list-form"),
    listUserid: el("list-userid"),
    listSubmit: el("list-submit"),
    listStatus: el("list-status"),
    wrap: el("purchases-wrap"),
    caption: el("purchases-caption"),
    rows: el("purchases"),
    loadMore: el("load-more"),
  };

  const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
  const priceFormat = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 6 });

  class ApiError extends Error {
    constructor(message, status, code) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  // Python counts code points, JavaScript's length counts UTF-16 units.
  const length = (text) => [...text].length;
  const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

  // --- HTTP --------------------------------------------------------------------------------------

  async function request(path, options = {}) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    let response;
    let body = null;
    try {
      response = await fetch(API + path, {
        ...options,
        headers: { Accept: "application/json", ...options.headers },
        cache: "no-store",
        signal: controller.signal,
      });
      if ((response.headers.get("Content-Type") || "").includes("json")) {
        body = await response.json().catch(() => null);
      }
    } catch (err) {
      throw controller.signal.aborted
        ? new ApiError(TEXT.timeout, 0, "timeout")
        : new ApiError(TEXT.network, 0, "network");
    } finally {
      clearTimeout(timer);
    }
    if (!response.ok) throw errorFor(response, body);
    if (body === null) throw new ApiError(TEXT.unexpected, response.status, "bad_response");
    return { body, headers: response.headers };
  }

  function errorFor(response, body) {
    const { status } = response;
    const code = body && typeof body.error === "string" ? body.error : "";
    const message = body && typeof body.message === "string" ? body.message.trim() : "";
    if (status === 503) {
      const wait = retryAfterSeconds(response.headers.get("Retry-After"));
      const when = wait ? `in ${plural(wait, "second", "seconds")}` : "in a moment";
      return new ApiError(`The service is busy, try again ${when}.`, status, code || "busy");
    }
    if (status === 502 || status === 504) return new ApiError(TEXT.unreachable, status, code);
    if (status === 429) return new ApiError(TEXT.tooMany, status, code);
    if (message) return new ApiError(message, status, code);
    return new ApiError(`The server answered with an error (HTTP ${status}). Try again.`, status, code);
  }

  function retryAfterSeconds(header) {
    if (!header) return 0;
    const seconds = /^\d+$/.test(header.trim())
      ? Number(header.trim())
      : Math.ceil((Date.parse(header) - Date.now()) / 1000);
    return Number.isFinite(seconds) && seconds > 0 && seconds <= 3600 ? seconds : 0;
  }

  // encodeURIComponent leaves "." alone; the service's contract wants it as %2E.
  const encodeUserid = (userid) => encodeURIComponent(userid).replace(/\./g, "%2E");

  function nextCursor(headers) {
    const cursor = headers.get("X-Next-Cursor");
    if (cursor) return cursor;
    const link = headers.get("Link") || "";
    const next = /<([^>]*)>[^,]*;\s*rel="?next"?/i.exec(link);
    if (!next) return null;
    try {
      return new URL(next[1], window.location.href).searchParams.get("cursor") || null;
    } catch (err) {
      return null;
    }
  }

  async function fetchPage(userid, cursor) {
    let path = `getAllUserBuys/${encodeUserid(userid)}?limit=${PAGE_SIZE}`;
    if (cursor) path += `&cursor=${encodeURIComponent(cursor)}`;
    const { body, headers } = await request(path);
    if (!Array.isArray(body)) throw new ApiError(TEXT.unexpected, 200, "bad_response");
    return { items: body.filter((item) => item && typeof item === "object"), next: nextCursor(headers) };
  }

  function newKey() {
    if (window.crypto.randomUUID) return window.crypto.randomUUID();
    // randomUUID needs a secure context; plain-HTTP deployments get the same shape from getRandomValues.
    const b = window.crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  // --- Validation -------------------------------------------------------------------------------

  function checkUsername(value) {
    if (!value) return "Enter a username.";
    if (length(value) > USERNAME_MAX) return `Username can be at most ${USERNAME_MAX} characters.`;
    if (CONTROL_RE.test(value)) return "Username cannot contain control characters such as tabs.";
    return "";
  }

  function checkUserid(value) {
    if (!value) return "Enter a user id.";
    if (value.length > USERID_MAX) return `User id can be at most ${USERID_MAX} characters.`;
    if (!USERID_RE.test(value)) return "User id may only use letters, digits and . _ @ : -";
    // Browsers resolve "." and ".." path segments (even as %2E), so such an id could never be listed.
    if (value === "." || value === "..") return "User id cannot be just dots.";
    return "";
  }

  function checkPrice(text) {
    if (!text) return { error: "Enter a price." };
    if (!PRICE_RE.test(text)) return { error: "Price must be a positive number, like 12.50." };
    const value = Number(text);
    if (!(value > 0)) return { error: "Price must be more than 0." };
    if (value > PRICE_MAX) return { error: "Price can be at most 1,000,000." };
    return { value };
  }

  function showFieldError(input, message) {
    const note = el(`${input.id}-error`);
    note.textContent = message;
    note.hidden = !message;
    if (message) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
    return !message;
  }

  // --- Status and busy state ---------------------------------------------------------------------

  function setStatus(node, text, kind) {
    node.textContent = text;
    node.dataset.kind = kind || "";
  }

  // aria-disabled instead of disabled: a disabled button drops keyboard focus to the page body.
  function setBusy(button, busy, label) {
    if (busy) {
      button.dataset.label = button.textContent;
      button.textContent = label;
      button.setAttribute("aria-disabled", "true");
    } else if (button.getAttribute("aria-disabled") === "true") {
      button.textContent = button.dataset.label;
      button.removeAttribute("aria-disabled");
    }
  }
  const isBusy = (button) => button.getAttribute("aria-disabled") === "true";

  // --- Buying ------------------------------------------------------------------------------------

  // Reused while the same purchase is retried, so a retry after a lost answer is stored only once.
  let pending = null;

  async function onBuy(event) {
    event.preventDefault();
    if (isBusy(ui.buySubmit)) return;

    const username = ui.username.value.trim();
    const userid = ui.userid.value.trim();
    const price = checkPrice(ui.price.value.trim());
    const fields = [
      [ui.username, checkUsername(username)],
      [ui.userid, checkUserid(userid)],
      [ui.price, price.error || ""],
    ];
    const invalid = fields.filter(([input, message]) => !showFieldError(input, message));
    if (invalid.length) {
      setStatus(ui.buyStatus, invalid.length === 1 ? invalid[0][1] : "Please fix the marked fields.", "error");
      invalid[0][0].focus();
      return;
    }

    const body = JSON.stringify({ username, userid, price: price.value });
    if (!pending || pending.body !== body) pending = { body, key: newKey() };

    setBusy(ui.buySubmit, true, "Recording…");
    setStatus(ui.buyStatus, "Recording the purchase…", "loading");
    try {
      const { body: answer } = await request("buy", {
        method: "POST",
        headers: { "Content-Type": "application/json", "Idempotency-Key": pending.key },
        body,
      });
      const purchase = answer && answer.purchase;
      if (!purchase || typeof purchase.id !== "string") throw new ApiError(TEXT.unexpected, 201, "bad_response");
      pending = null;
      ui.price.value = "";
      setStatus(ui.buyStatus, "Purchase recorded — it will appear in the list in a moment.", "success");
      ui.listUserid.value = userid;
      showFieldError(ui.listUserid, "");
      loadFirstPage(userid, purchase.id);
    } catch (err) {
      setStatus(ui.buyStatus, err.message || TEXT.unexpected, "error");
    } finally {
      setBusy(ui.buySubmit, false);
    }
  }

  // --- Listing -----------------------------------------------------------------------------------

  const list = { userid: "", cursor: null, generation: 0, ids: new Set() };

  function onList(event) {
    event.preventDefault();
    const userid = ui.listUserid.value.trim();
    const error = checkUserid(userid);
    if (!showFieldError(ui.listUserid, error)) {
      setStatus(ui.listStatus, error, "error");
      ui.listUserid.focus();
      return;
    }
    loadFirstPage(userid, null);
  }

  // With newId set, polls until that purchase shows up (it travels through Kafka first).
  async function loadFirstPage(userid, newId) {
    const generation = ++list.generation;
    const current = () => generation === list.generation;
    setBusy(ui.loadMore, false);
    ui.wrap.setAttribute("aria-busy", "true");
    setStatus(ui.listStatus, newId
      ? `Waiting for the new purchase to reach the list for ${userid}…`
      : `Loading purchases for ${userid}…`, "loading");

    let page;
    for (let attempt = 0; ; attempt += 1) {
      try {
        page = await fetchPage(userid, null);
      } catch (err) {
        if (!current()) return;
        ui.wrap.removeAttribute("aria-busy");
        setStatus(ui.listStatus, err.message || TEXT.unexpected, "error");
        return;
      }
      if (!current()) return;
      if (!newId || page.items.some((p) => p.id === newId) || attempt >= APPEAR_DELAYS_MS.length) break;
      await sleep(APPEAR_DELAYS_MS[attempt]);
      if (!current()) return;
    }

    list.userid = userid;
    list.ids = new Set();
    ui.rows.replaceChildren();
    ui.caption.textContent = `Purchases of ${userid}, newest first`;
    ui.wrap.removeAttribute("aria-busy");
    appendRows(page.items, newId);
    list.cursor = page.next;
    ui.loadMore.hidden = !page.next;
    ui.wrap.hidden = list.ids.size === 0;

    if (list.ids.size === 0) {
      setStatus(ui.listStatus, newId
        ? `The purchase is recorded but not listed for ${userid} yet. List again in a moment.`
        : `No purchases yet for ${userid}.`, newId ? "info" : "empty");
    } else if (newId && !list.ids.has(newId)) {
      setStatus(ui.listStatus, `The new purchase is recorded but not listed yet. List again in a moment. ${summary()}`, "info");
    } else {
      setStatus(ui.listStatus, summary(), "info");
    }
  }

  async function onLoadMore() {
    if (isBusy(ui.loadMore) || !list.cursor) return;
    const generation = list.generation;
    setBusy(ui.loadMore, true, "Loading…");
    ui.wrap.setAttribute("aria-busy", "true");
    let page;
    try {
      page = await fetchPage(list.userid, list.cursor);
    } catch (err) {
      if (generation !== list.generation) return;
      setBusy(ui.loadMore, false);
      ui.wrap.removeAttribute("aria-busy");
      setStatus(ui.listStatus, err.message || TEXT.unexpected, "error");
      return;
    }
    if (generation !== list.generation) return;
    setBusy(ui.loadMore, false);
    ui.wrap.removeAttribute("aria-busy");
    appendRows(page.items, null);
    list.cursor = page.next;
    if (!page.next) {
      // Keep keyboard focus on the page when the button it sat on goes away.
      if (document.activeElement === ui.loadMore) ui.wrap.focus();
      ui.loadMore.hidden = true;
    }
    setStatus(ui.listStatus, summary(), "info");
  }

  function summary() {
    const shown = `Showing ${plural(list.ids.size, "purchase", "purchases")} for ${list.userid}`;
    return list.cursor ? `${shown}; older ones are behind “Load more”.` : `${shown}.`;
  }

  function appendRows(items, newId) {
    const fragment = document.createDocumentFragment();
    for (const purchase of items) {
      const id = purchase.id == null ? "" : String(purchase.id);
      // A purchase stored while paging could be served twice; show it once.
      if (id && list.ids.has(id)) continue;
      list.ids.add(id);
      fragment.append(purchaseRow(purchase, id !== "" && id === newId));
    }
    ui.rows.append(fragment);
  }

  function purchaseRow(purchase, isNew) {
    const row = document.createElement("tr");
    if (isNew) row.className = "is-new";

    const stamp = purchase.timestamp == null ? "" : String(purchase.timestamp);
    const time = document.createElement("time");
    time.dateTime = stamp;
    time.title = stamp;
    time.textContent = formatTime(stamp);

    const id = document.createElement("code");
    id.textContent = purchase.id == null ? "" : String(purchase.id);

    row.append(
      cell(time, "time"),
      cell(purchase.username == null ? "" : String(purchase.username), "username"),
      cell(formatPrice(purchase.price), "num"),
      cell(id, "id"),
    );
    return row;
  }

  function cell(content, className) {
    const td = document.createElement("td");
    if (className) td.className = className;
    if (typeof content === "string") td.textContent = content;
    else td.append(content);
    return td;
  }

  function formatTime(stamp) {
    const date = new Date(stamp);
    return stamp && !Number.isNaN(date.getTime()) ? timeFormat.format(date) : stamp;
  }

  function formatPrice(price) {
    return typeof price === "number" && Number.isFinite(price) ? priceFormat.format(price) : String(price ?? "");
  }

  // --- Wiring ------------------------------------------------------------------------------------

  ui.buyForm.addEventListener("submit", onBuy);
  ui.listForm.addEventListener("submit", onList);
  ui.loadMore.addEventListener("click", onLoadMore);
  // Clear a field's error as soon as the user edits it.
  for (const input of [ui.username, ui.userid, ui.price, ui.listUserid]) {
    input.addEventListener("input", () => showFieldError(input, ""));
  }
})();
