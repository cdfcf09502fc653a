"use strict";
// The operations console. Plain DOM code over the gateway's own API: every view reads an endpoint, every action
// posts to one, and one Server-Sent-Events stream (GET /events) keeps whatever is on screen current.
(() => {
  const keyName = "stateset.apiKey";
  const streamPath = "/events";
  const $ = id => document.getElementById(id);

  // What each kind of run is called in the API: its collection, the prefix of its workflow id, its label.
  const kinds = {
    order: { path: "orders", workflow: "order-", title: "Order" },
    refund: { path: "refunds", workflow: "refund-", title: "Refund" },
    "return": { path: "returns", workflow: "rma-", title: "Return" },
    label: { path: "labels", workflow: "label-", title: "Label" },
  };
  const kindOfPath = Object.fromEntries(Object.entries(kinds).map(([kind, k]) => [k.path, kind]));
  const conditions = ["new", "opened", "damaged"];

  // ---- small helpers -------------------------------------------------------------------------------------------

  /** Creates an element; attrs may hold properties (className, href…) and on* handlers; children are nodes or text. */
  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else if (name === "className" || name === "textContent" || name === "value" || name === "disabled" || name === "checked" || name === "type") node[name] = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  const when = iso => iso ? new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" }) : "";
  const minute = iso => iso ? new Date(iso).toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }) : "";
  const short = iso => iso ? new Date(iso).toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" }) : "";
  const words = name => String(name).replace(/([a-z0-9])([A-Z])/g, "$1 $2").replace(/_/g, " ").toLowerCase();
  const amount = (value, currency) => value === null || value === undefined ? "" : `${Number(value).toFixed(2)} ${currency || ""}`.trim();
  const present = value => value !== null && value !== undefined && value !== "";

  /** A status as a coloured pill: green ended well, amber waits for a person, red ended badly, blue on its way. */
  function pill(status) {
    const s = String(status || "unknown");
    const tone = /^(completed|delivered|refunded|closed|printed|approved|succeeded)$/.test(s) ? "ok"
      : /awaiting|escalated|requested|pending|queued|waiting|compensated/.test(s) ? "warn"
      : /^(failed|cancelled|rejected|refused|voided|delivery_exception|payment_declined)/.test(s) ? "bad" : "run";
    return h("span", { className: `pill ${tone}` }, words(s));
  }

  /** A definition list of [name, value] pairs, skipping empty values. */
  function facts(pairs) {
    const list = h("dl", { className: "kv" });
    for (const [name, value] of pairs) {
      if (!present(value)) continue;
      list.append(h("dt", {}, name), h("dd", {}, value));
    }
    return list.childElementCount ? list : h("p", { className: "muted" }, "Nothing yet.");
  }

  function card(title, body, wide) { return h("section", { className: wide ? "card wide" : "card" }, h("h3", {}, title), body); }
  const capital = text => text.charAt(0).toUpperCase() + text.slice(1);

  function setStatus(text, tone) {
    $("status").textContent = text;
    $("status").className = `conn ${tone || "muted"}`;
  }

  let flashTimer = null;
  /** Says what an action did, for a few seconds, in the polite live region. */
  function flash(text, isError) {
    const box = $("flash");
    box.textContent = text;
    box.className = isError ? "error" : "";
    box.hidden = false;
    clearTimeout(flashTimer);
    flashTimer = setTimeout(() => { box.hidden = true; }, isError ? 10000 : 5000);
  }

  /** Calls the API with the tab's key; answers the parsed JSON (or the Response with raw: true). */
  async function api(path, options = {}) {
    const response = await fetch(path, {
      method: options.method || "GET",
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      headers: { "X-Api-Key": sessionStorage.getItem(keyName), ...(options.body === undefined ? {} : { "Content-Type": "application/json" }) },
      cache: "no-store",
    });
    // A key that cannot run the console sends the operator back to the key form, saying why.
    if (response.status === 401) throw forget("The API key was refused.");
    if (response.status === 403) {
      const problem = (response.headers.get("content-type") || "").includes("json") ? await response.json() : null;
      if (options.mayBeForbidden) throw new Error((problem && (problem.detail || problem.title)) || "Forbidden for this key.");
      throw forget("This API key lacks the operator scope.");
    }
    if (options.raw && response.ok) return response;
    const body = (response.headers.get("content-type") || "").includes("json") ? await response.json() : null;
    if (!response.ok) {
      const fields = body && body.errors ? Object.entries(body.errors).map(([field, why]) => `${field}: ${[].concat(why).join(" ")}`).join("; ") : "";
      throw new Error(fields || (body && (body.detail || body.title)) || `HTTP ${response.status}`);
    }
    return body;
  }

  /** Runs fn at most once per wait, however often it is asked: events come in bursts, one reload covers a burst. */
  function coalesce(fn, wait = 250) {
    let timer = null;
    return () => {
      if (timer) return;
      timer = setTimeout(() => { timer = null; fn().catch(e => flash(e.message, true)); }, wait);
    };
  }

  const report = e => { if (!(e && e.forgotten)) flash(e.message, true); };

  // ---- routing ---------------------------------------------------------------------------------------------------

  const views = ["orders", "run", "approvals", "returns", "printing", "stock", "feed"];
  let route = { view: "orders" };

  /** Reads the hash: #/orders, #/orders/{id} (and refunds, returns, labels), #/approvals/{kind}/{id}, #/printing/{station}. */
  function parseRoute() {
    const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
    const [first, second, third] = parts;
    if (first === "approvals") return { view: "approvals", kind: kinds[second] ? second : null, id: third || null };
    if (first === "returns") return { view: "returns", kind: second ? "return" : null, id: second || null };
    if (first === "printing") return { view: "printing", station: second || null };
    if (first === "stock" || first === "feed") return { view: first };
    if (kindOfPath[first] && second) return { view: "run", kind: kindOfPath[first], id: second };
    return { view: "orders" };
  }

  function go(hash) { if (location.hash === hash) render(); else location.hash = hash; }

  function render() {
    route = parseRoute();
    for (const name of views) $(`view-${name}`).hidden = name !== route.view;
    const section = route.view === "run" ? (route.kind === "return" ? "returns" : route.kind === "label" ? "printing" : "orders") : route.view;
    for (const link of document.querySelectorAll("#nav a")) {
      if (link.dataset.section === section) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
    }
    runOnScreen = null;
    const shows = {
      orders: () => orders.load(),
      run: () => showRun($("run"), route.kind, route.id),
      approvals: () => approvals.load().then(() => route.id ? showRun($("detail"), route.kind, route.id) : clearDetail($("detail"), "Select an approval to see its run.")),
      returns: () => returns.load().then(() => route.id ? showRun($("return-detail"), "return", route.id) : clearDetail($("return-detail"), "Select a return to receive or inspect it.")),
      printing: () => printing.load(),
      stock: () => stock.load(),
      feed: async () => feed.draw(),
    };
    if (route.view === "run") {
      const back = $("run-back");
      back.href = section === "returns" ? "#/returns" : section === "printing" ? "#/printing" : "#/orders";
      back.textContent = `← ${section === "printing" ? "Labels & printing" : section[0].toUpperCase() + section.slice(1)}`;
    }
    shows[route.view]().catch(report);
  }

  function clearDetail(container, text) { container.replaceChildren(h("p", { className: "empty" }, text)); }

  // ---- a run's detail --------------------------------------------------------------------------------------------

  // The one run on screen, redrawn when an event of its own arrives.
  let runOnScreen = null;
  let drawn = 0;

  /** Draws a run into container; only the latest request may draw, or a slow answer could overwrite a newer one. */
  async function showRun(container, kind, id) {
    const ticket = ++drawn;
    const k = kinds[kind];
    runOnScreen = { container, kind, id };
    const title = `${kind} ${id}`;
    if (container.dataset.run !== title) {
      container.dataset.run = title;
      container.replaceChildren(h("p", { className: "empty" }, "Loading…"));
    }
    let view;
    try { view = await api(`/${k.path}/${encodeURIComponent(id)}`); } catch (e) {
      if (ticket === drawn) container.replaceChildren(h("h2", {}, `${k.title} ${id}`), h("p", { className: "error" }, e.message === "HTTP 404" ? `No ${kind} ${id}.` : e.message));
      if (e.forgotten) throw e;
      return;
    }
    if (ticket !== drawn) return;

    // What the operator is typing survives the redraws that events cause.
    const typed = {};
    for (const input of container.querySelectorAll("[data-keep]")) typed[input.dataset.keep] = input.value;
    container.replaceChildren(...drawRun(kind, id, view));
    for (const input of container.querySelectorAll("[data-keep]")) if (input.dataset.keep in typed) input.value = typed[input.dataset.keep];
  }

  function redrawRun() { if (runOnScreen) showRun(runOnScreen.container, runOnScreen.kind, runOnScreen.id).catch(report); }

  /** The nodes of a run's detail: heading, what it waits for, its facts by kind, and its timeline. */
  function drawRun(kind, id, view) {
    const s = view.status || {};
    const k = kinds[kind];
    const nodes = [];
    const links = h("span", { className: "detail-links" });
    if (s.orderId && kind !== "order") links.append(h("a", { href: `#/orders/${encodeURIComponent(s.orderId)}` }, `Order ${s.orderId}`));
    if (view.temporalUiUrl) links.append(h("a", { href: view.temporalUiUrl, target: "_blank", rel: "noopener" }, "Open in Temporal UI ↗"));
    nodes.push(h("div", { className: "detail-head" }, h("h2", {}, `${k.title} ${id}`), pill(s.status), links));
    nodes.push(h("p", { className: "detail-sub" },
      h("span", {}, `Status: ${words(s.status ?? "?")} · stage: ${s.stage ?? "?"}`),
      s.customerId ? h("span", {}, "Customer ", h("b", {}, s.customerId)) : null,
      s.startedAt ? h("span", {}, `Started ${when(s.startedAt)}`) : null,
      view.live ? h("span", {}, `Updated ${when(s.updatedAt)}`) : h("span", {}, s.closedAt ? `Finished ${when(s.closedAt)}` : `Not running; last update ${when(s.updatedAt)}`),
      h("span", {}, `version ${view.version}`)));

    if (view.live && s.pendingApproval) nodes.push(approvalBox(kind, id, s.pendingApproval));
    if (s.decision) {
      const d = s.decision;
      nodes.push(h("p", { className: "decision" }, h("b", {}, "Decision: "), `${d.outcome} by ${d.decidedBy} ${when(d.decidedAt)}${d.reason ? ` · ${d.reason}` : ""}`));
    }
    if (view.live && kind === "order" && cancellable(s)) nodes.push(cancelBox(id));
    if (view.live && kind === "return" && s.stage === "awaiting receipt") nodes.push(receiptBox(id, s));
    if (view.live && kind === "return" && s.stage === "awaiting inspection") nodes.push(inspectionBox(id, s));
    if (view.live && kind === "label" && s.stage === "waiting for print station" && s.printJob) nodes.push(printedBox(s.printJob, id));

    const cards = h("div", { className: "cards" });
    if (kind === "order") {
      const m = s.money || {};
      cards.append(card("Money", facts([
        ["Total", amount(m.total ?? s.amount, m.currency ?? s.currency)], ["Authorized", amount(m.authorized, m.currency)],
        ["Captured", amount(m.captured, m.currency)], ["Refunded", amount(m.refunded, m.currency)], ["Payment", m.paymentId]])));
      const sh = s.shipment;
      cards.append(card("Shipment", sh ? facts([
        ["Shipment", h("a", { href: `#/labels/${encodeURIComponent(sh.shipmentId)}` }, sh.shipmentId)], ["Carrier", sh.carrier], ["Service", sh.service],
        ["Tracking", sh.trackingNumber], ["Shipped", when(sh.shippedAt)], ["Delivered", when(sh.deliveredAt)], ["Last scan", sh.lastCarrierEvent]]) : h("p", { className: "muted" }, "Not shipped yet.")));
    }
    if (kind === "refund") {
      cards.append(card("Refund", facts([["Amount", amount(s.amount, s.currency)], ["Refundable", amount(s.refundable, s.currency)], ["Escalated", s.escalated ? "yes" : present(s.escalated) ? "no" : ""], ["Provider refund", s.providerRefundId]])));
    }
    if (kind === "return") {
      const e = s.eligibility;
      cards.append(card("Return", facts([["RMA", s.rmaNumber], ["Return tracking", s.returnTrackingNumber], ["Refund", amount(s.refundAmount, e && e.currency)],
        ["Item total", e ? amount(e.itemTotal, e.currency) : ""], ["Restocking fee", e ? amount(e.restockingFee, e.currency) : ""]])));
      if (s.receipt) cards.append(card("Received", facts([["By", s.receipt.receivedBy], ["Note", s.receipt.note]])));
      if (s.inspection) cards.append(card("Inspected", facts([["By", s.inspection.inspectedBy], ...(s.inspection.lines || []).map(l => [l.sku, l.condition])])));
    }
    if (kind === "label") {
      const r = s.rate, l = s.label, j = s.printJob;
      if (r) cards.append(card("Rate", facts([["Carrier", r.carrier], ["Service", r.service], ["Cost", amount(r.amount ?? r.cost, r.currency)]])));
      if (l) cards.append(card("Label", facts([["Tracking", l.trackingNumber], ["Carrier label", l.carrierLabelId], ["Voided", l.voided ? "yes" : ""]])));
      if (j) cards.append(card("Print job", facts([["Job", j.id], ["Station", j.stationId ? h("a", { href: `#/printing/${encodeURIComponent(j.stationId)}` }, j.stationId) : ""], ["Status", j.status]])));
    }
    const compensations = s.compensationsRun || [];
    if (kind !== "refund" || compensations.length) {
      cards.append(card("Compensations", compensations.length ? h("ol", { className: "comp" }, compensations.map(c => h("li", {}, c))) : h("p", { className: "muted" }, "None run.")));
    }
    if (s.failureReason) cards.append(card("Failure", h("p", { className: "error" }, s.failureReason)));
    // The facts the run recorded on its read-model row (why it ended, its tracking number…).
    const shownElsewhere = { "return": ["rmaNumber", "trackingNumber"], label: ["carrier", "trackingNumber"], refund: ["providerRefundId"] }[kind] || [];
    const details = Object.entries(s.details || {}).filter(([name, value]) => !shownElsewhere.includes(name) && value !== s.failureReason);
    if (details.length) cards.append(card("Outcome", facts(details.map(([name, value]) => [capital(words(name)), value]))));
    if (kind === "return" && s.eligibility && s.eligibility.lines && s.eligibility.lines.length) {
      cards.append(card("Lines", h("table", { className: "grid" },
        h("thead", {}, h("tr", {}, h("th", {}, "SKU"), h("th", { className: "num" }, "Qty"), h("th", { className: "num" }, "Line total"), h("th", {}, "Eligible"))),
        h("tbody", {}, s.eligibility.lines.map(l => h("tr", {}, h("td", { className: "id" }, l.sku), h("td", { className: "num" }, l.quantity),
          h("td", { className: "num" }, amount(l.lineTotal, s.eligibility.currency)), h("td", {}, l.eligible ? "yes" : `no: ${l.ineligibleReason || ""}`))))), true));
    }
    nodes.push(cards);
    nodes.push(timeline(s.timeline));
    return nodes;
  }

  function cancellable(s) {
    return !(s.shipment && s.shipment.shippedAt) && s.stage !== "compensating" && s.stage !== "done";
  }

  function timeline(steps) {
    const wrap = h("section", { className: "timeline-wrap" }, h("h3", {}, "Timeline"));
    if (!Array.isArray(steps)) {
      wrap.append(h("p", { className: "empty" }, "The step-by-step timeline of this run is in its workflow history (Temporal UI)."));
      return wrap;
    }
    // Timeline entries are the workflows' TimelineEntry(At, Step, Outcome, Detail), oldest first. A step's
    // "started" and the entry that ends it make one row (its outcome and how long it took), which halves the table.
    const rows = [];
    const open = new Map();
    for (const step of steps) {
      const started = open.get(step.step);
      if (step.outcome === "started") {
        const row = { at: step.at, step: step.step, outcome: "started", detail: step.detail, took: null };
        open.set(step.step, row);
        rows.push(row);
      } else if (started) {
        open.delete(step.step);
        started.outcome = step.outcome;
        started.detail = step.detail ?? started.detail;
        started.took = new Date(step.at) - new Date(started.at);
      } else {
        rows.push({ at: step.at, step: step.step, outcome: step.outcome, detail: step.detail, took: null });
      }
    }
    const took = ms => ms === null ? "" : ms < 1000 ? `${ms} ms` : ms < 120000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60000)} min`;
    wrap.append(h("table", { className: "grid timeline" },
      h("thead", {}, h("tr", {}, h("th", {}, "When"), h("th", {}, "Step"), h("th", {}, "Outcome"), h("th", { className: "num" }, "Took"), h("th", {}, "Detail"))),
      h("tbody", {}, rows.map(row => h("tr", { className: `outcome-${row.outcome}` },
        h("td", { className: "when" }, short(row.at)), h("td", { className: "step" }, row.step ?? ""), h("td", {}, pill(row.outcome)),
        h("td", { className: "num muted" }, took(row.took)), h("td", {}, row.detail ?? ""))))));
    return wrap;
  }

  /** A button that disables itself while its action runs and reports what happened. */
  function actionButton(text, className, action) {
    const button = h("button", { type: "button", className }, text);
    button.addEventListener("click", async () => {
      const siblings = button.parentElement ? [...button.parentElement.querySelectorAll("button")] : [button];
      for (const b of siblings) b.disabled = true;
      try { await action(); } catch (e) {
        report(e);
        for (const b of siblings) b.disabled = false;
      }
    });
    return button;
  }

  function approvalBox(kind, id, pending) {
    const k = kinds[kind];
    const reason = h("input", { id: "decision-reason", type: "text", placeholder: "Reason (required to reject)", "data-keep": "decision-reason" });
    const decide = verb => async () => {
      if (verb === "reject" && !reason.value.trim()) { reason.focus(); throw new Error("Give a reason to reject."); }
      await api(`/${k.path}/${encodeURIComponent(id)}/${verb}`, { method: "POST", body: { reason: reason.value.trim() || null } });
      reason.value = "";
      flash(`${verb === "approve" ? "Approved" : "Rejected"} ${kind} ${id}`);
      await showRun(runOnScreen.container, kind, id);
      approvals.reload();
    };
    return h("section", { className: "action" },
      h("h3", {}, pill("awaiting approval"), "Waiting for approval"),
      h("p", {}, pending.reason ?? "", pending.expiresAt ? h("span", { className: "muted" }, ` · requested ${when(pending.requestedAt)} · expires ${when(pending.expiresAt)}`) : null),
      h("div", { className: "row" },
        h("div", { className: "field" }, h("label", { for: "decision-reason" }, "Reason"), reason),
        actionButton("Approve", "good", decide("approve")),
        actionButton("Reject", "danger", decide("reject"))));
  }

  function cancelBox(id) {
    const reason = h("input", { id: "cancel-reason", type: "text", placeholder: "Why the order is cancelled", "data-keep": "cancel-reason" });
    return h("section", { className: "action neutral" },
      h("h3", {}, "Cancel this order"),
      h("p", { className: "muted" }, "Possible until it ships: the payment is voided or refunded and the stock released, in reverse order."),
      h("div", { className: "row" },
        h("div", { className: "field" }, h("label", { for: "cancel-reason" }, "Cancellation reason"), reason),
        actionButton("Cancel order", "danger", async () => {
          await api(`/orders/${encodeURIComponent(id)}/cancel`, { method: "POST", body: { reason: reason.value.trim() || null } });
          reason.value = "";
          flash(`Cancelling order ${id}`);
          await showRun(runOnScreen.container, "order", id);
        })));
  }

  function receiptBox(id) {
    const note = h("input", { id: "receipt-note", type: "text", placeholder: "e.g. box intact", "data-keep": "receipt-note" });
    return h("section", { className: "action" },
      h("h3", {}, pill("awaiting receipt"), "Receive the parcel"),
      h("div", { className: "row" },
        h("div", { className: "field" }, h("label", { for: "receipt-note" }, "Receipt note"), note),
        actionButton("Mark received", "primary", async () => {
          await api(`/returns/${encodeURIComponent(id)}/received`, { method: "POST", body: { note: note.value.trim() || null } });
          note.value = "";
          flash(`Received return ${id}`);
          await showRun(runOnScreen.container, "return", id);
        })));
  }

  function inspectionBox(id, s) {
    const lines = (s.eligibility && s.eligibility.lines) || [];
    const rows = lines.map((line, i) => {
      const select = h("select", { id: `inspect-${i}`, "data-keep": `inspect-${line.sku}`, "data-sku": line.sku },
        conditions.map(c => h("option", { value: c }, c)));
      return h("tr", {},
        h("td", { className: "id" }, line.sku), h("td", { className: "num" }, line.quantity),
        h("td", {}, h("label", { for: `inspect-${i}`, className: "sr" }, `Condition of ${line.sku}`), select));
    });
    const table = h("table", { className: "grid lines" },
      h("thead", {}, h("tr", {}, h("th", {}, "SKU"), h("th", { className: "num" }, "Qty"), h("th", {}, "Condition as found"))), h("tbody", {}, rows));
    return h("section", { className: "action" },
      h("h3", {}, pill("awaiting inspection"), "Inspect the returned items"),
      h("p", { className: "muted" }, "Opened items are refunded less the restocking fee; damaged ones are not restocked."),
      table,
      h("div", { className: "row spaced" },
        actionButton("Record inspection", "primary", async () => {
          const inspected = [...table.querySelectorAll("select")].map(select => ({ sku: select.dataset.sku, condition: select.value }));
          await api(`/returns/${encodeURIComponent(id)}/inspected`, { method: "POST", body: { lines: inspected } });
          flash(`Inspected return ${id}`);
          await showRun(runOnScreen.container, "return", id);
        })));
  }

  function printedBox(job, shipmentId) {
    return h("section", { className: "action" },
      h("h3", {}, pill("waiting for print station"), `Print job at ${job.stationId}`),
      h("p", {}, h("a", { href: `#/printing/${encodeURIComponent(job.stationId)}` }, "Open the station's queue with the label preview")),
      h("div", { className: "row" }, actionButton("Mark printed", "primary", async () => {
        await api(`/print-jobs/${encodeURIComponent(job.id)}/ack`, { method: "POST", body: { stationId: job.stationId } });
        flash(`Marked printed: shipment ${shipmentId}`);
        await showRun(runOnScreen.container, "label", shipmentId);
      })));
  }

  // ---- orders ----------------------------------------------------------------------------------------------------

  const orders = (() => {
    // Keyset paging: the cursor of each page seen, so Newer goes back exactly.
    let cursors = [null];
    let page = 0;
    let customersLoaded = false;

    function query() {
      const params = new URLSearchParams();
      const add = (name, value) => { if (value) params.set(name, value); };
      add("q", $("orders-q").value.trim());
      add("status", $("orders-status").value);
      add("customerId", $("orders-customer").value);
      // Dates are whole UTC days; "to" includes its day, so the bound is the next midnight.
      if ($("orders-from").value) add("from", `${$("orders-from").value}T00:00:00Z`);
      if ($("orders-to").value) {
        const to = new Date(`${$("orders-to").value}T00:00:00Z`);
        to.setUTCDate(to.getUTCDate() + 1);
        add("to", to.toISOString());
      }
      add("limit", $("orders-limit").value);
      add("cursor", cursors[page]);
      return params;
    }

    async function loadCustomers() {
      if (customersLoaded) return;
      customersLoaded = true;
      const list = await api("/customers?limit=100");
      $("orders-customer").append(...list.map(c => h("option", { value: c.id }, `${c.name} (${c.id})`)));
    }

    async function load() {
      loadCustomers().catch(report);
      const answer = await api(`/orders?${query()}`);
      if (route.view !== "orders") return;
      const rows = answer.items.map(item => {
        const r = item.run;
        const link = `#/orders/${encodeURIComponent(item.id)}`;
        return h("tr", { onclick: e => { if (!e.target.closest("a")) go(link); } },
          h("td", { className: "id" }, h("a", { href: link }, item.id)),
          h("td", {}, r.customerId ?? ""),
          h("td", {}, pill(r.status)),
          h("td", {}, r.stage),
          h("td", { className: "num" }, amount(r.amount, r.currency)),
          h("td", { className: "when" }, minute(r.startedAt)),
          h("td", { className: "when" }, minute(r.updatedAt)),
          h("td", {}, item.temporalUiUrl ? h("a", { href: item.temporalUiUrl, target: "_blank", rel: "noopener" }, "Open ↗") : ""));
      });
      $("orders").replaceChildren(...rows);
      $("orders-empty").hidden = rows.length > 0;
      cursors[page + 1] = answer.nextCursor;
      $("orders-older").disabled = !answer.nextCursor;
      $("orders-newer").disabled = page === 0;
      $("orders-page").textContent = `Page ${page + 1}`;
      $("orders-summary").textContent = `${rows.length} shown${answer.nextCursor ? ", more older" : ""}`;
    }

    $("orders-filters").addEventListener("submit", e => { e.preventDefault(); cursors = [null]; page = 0; load().catch(report); });
    $("orders-filters").addEventListener("reset", () => { setTimeout(() => { cursors = [null]; page = 0; load().catch(report); }); });
    $("orders-older").addEventListener("click", () => { page++; load().catch(report); });
    $("orders-newer").addEventListener("click", () => { page = Math.max(0, page - 1); load().catch(report); });

    // New and changed orders show on the first page as they happen; deeper pages stay put while being read.
    const refresh = coalesce(async () => { if (route.view === "orders" && page === 0) await load(); }, 400);
    return { load, refresh };
  })();

  // ---- approvals -------------------------------------------------------------------------------------------------

  const approvals = (() => {
    async function load() {
      const page = await api("/approvals?status=pending&pageSize=100");
      const count = $("approvals-count");
      count.textContent = String(page.items.length);
      count.hidden = page.items.length === 0;
      const rows = page.items.map(a => {
        const selected = route.view === "approvals" && route.kind === a.subjectType && route.id === a.subjectId;
        return h("tr", { className: selected ? "selected" : "", onclick: () => go(`#/approvals/${a.subjectType}/${encodeURIComponent(a.subjectId)}`) },
          h("td", { className: "id" }, h("a", { href: `#/approvals/${a.subjectType}/${encodeURIComponent(a.subjectId)}` }, `${a.subjectType} ${a.subjectId}`),
            h("div", { className: "muted" }, minute(a.requestedAt))),
          h("td", {}, h("div", { className: "clamp", title: a.requestedReason }, a.requestedReason)),
          h("td", { className: "when" }, minute(a.expiresAt)));
      });
      $("approvals").replaceChildren(...rows);
      $("approvals-empty").hidden = rows.length > 0;
    }
    return { load, reload: coalesce(load, 100) };
  })();

  // ---- returns ---------------------------------------------------------------------------------------------------

  const returns = (() => {
    let next = null;
    async function load(more) {
      const params = new URLSearchParams({ limit: "50" });
      if ($("returns-q").value.trim()) params.set("q", $("returns-q").value.trim());
      if ($("returns-status").value) params.set("status", $("returns-status").value);
      if (more && next) params.set("cursor", next);
      const answer = await api(`/returns?${params}`);
      if (route.view !== "returns") return;
      const rows = answer.items.map(item => {
        const r = item.run;
        const selected = route.id === item.id;
        return h("tr", { className: selected ? "selected" : "", onclick: () => go(`#/returns/${encodeURIComponent(item.id)}`) },
          h("td", { className: "id" }, h("a", { href: `#/returns/${encodeURIComponent(item.id)}` }, item.id)), h("td", {}, pill(r.status)), h("td", {}, r.stage),
          h("td", { className: "num" }, amount(r.amount, r.currency)), h("td", { className: "when" }, minute(r.startedAt)));
      });
      if (more) $("returns").append(...rows); else $("returns").replaceChildren(...rows);
      $("returns-empty").hidden = $("returns").childElementCount > 0;
      next = answer.nextCursor;
      $("returns-more").hidden = !next;
    }
    $("returns-filters").addEventListener("submit", e => { e.preventDefault(); load(false).catch(report); });
    $("returns-more").addEventListener("click", () => load(true).catch(report));
    return { load: () => load(false), refresh: coalesce(async () => { if (route.view === "returns") await load(false); }, 400) };
  })();

  // ---- labels & printing -----------------------------------------------------------------------------------------

  const printing = (() => {
    let stations = null;
    let selectedJob = null;
    let previewUrl = null;
    let shown = 0;

    async function load() {
      if (!stations) {
        stations = await api("/print-stations");
        $("station").replaceChildren(...stations.map(s => h("option", { value: s.id }, `${s.name} (${s.id}, ${s.format.toUpperCase()})`)));
      }
      if (!stations.length) { clearDetail($("job-detail"), "No print stations are set up."); return; }
      const station = route.station && stations.some(s => s.id === route.station) ? route.station : stations[0].id;
      $("station").value = station;
      await loadJobs(station);
    }

    async function loadJobs(station) {
      const [queued, printed] = await Promise.all([
        api(`/print-stations/${encodeURIComponent(station)}/jobs?status=queued&limit=200`),
        api(`/print-stations/${encodeURIComponent(station)}/jobs?status=printed&limit=200`),
      ]);
      if (route.view !== "printing" || $("station").value !== station) return;
      const rows = queued.items.map(job => h("tr", { className: selectedJob && selectedJob.id === job.id ? "selected" : "", onclick: () => select(job).catch(report) },
        h("td", { className: "id" }, h("button", { type: "button", className: "link", onclick: e => { e.stopPropagation(); select(job).catch(report); } }, job.shipmentId)),
        h("td", {}, job.label.carrier, h("div", { className: "muted" }, job.label.service)),
        h("td", { className: "id" }, job.label.trackingNumber, job.label.voided ? h("div", { className: "voided" }, "voided") : null),
        h("td", { className: "when" }, minute(job.createdAt))));
      $("jobs").replaceChildren(...rows);
      $("jobs-empty").hidden = rows.length > 0;
      // The station lists oldest first; the latest prints are what a person looks for.
      const recent = printed.items.slice(-10).reverse();
      $("printed").replaceChildren(...recent.map(job => h("tr", {},
        h("td", { className: "id" }, h("a", { href: `#/labels/${encodeURIComponent(job.shipmentId)}` }, job.shipmentId)),
        h("td", { className: "id" }, job.label.trackingNumber), h("td", { className: "when" }, minute(job.acknowledgedAt)))));
      $("printed-empty").hidden = recent.length > 0;

      const still = selectedJob && queued.items.find(j => j.id === selectedJob.id);
      if (still) return;
      if (selectedJob) {
        // The selected job left the queue (printed here or elsewhere): say so rather than keep offering it.
        const done = printed.items.find(j => j.id === selectedJob.id);
        setPreview(null);
        $("job-detail").replaceChildren(h("p", { className: "empty" }, done ? `Shipment ${done.shipmentId} is printed.` : "That job is no longer queued."));
        selectedJob = null;
      } else if (queued.items.length) {
        await select(queued.items[0]);
      } else {
        clearDetail($("job-detail"), "Select a queued job to preview its label.");
      }
    }

    function setPreview(url) {
      if (previewUrl) URL.revokeObjectURL(previewUrl);
      previewUrl = url;
    }

    async function select(job) {
      selectedJob = job;
      const ticket = ++shown;
      for (const row of $("jobs").rows) row.classList.toggle("selected", row.cells[0].textContent === job.shipmentId);
      const frame = h("iframe", { className: "preview", title: `Label of shipment ${job.shipmentId} (PDF)` });
      const zpl = h("pre", { className: "zpl mono" });
      const source = h("details", { ontoggle: async () => {
        if (!source.open || zpl.textContent) return;
        try { zpl.textContent = await (await api(job.links.zpl, { raw: true })).text(); } catch (e) { report(e); }
      } }, h("summary", {}, "ZPL source"), zpl);
      $("job-detail").replaceChildren(...[
        h("div", { className: "detail-head" }, h("h2", {}, `Shipment ${job.shipmentId}`), pill(job.status),
          h("span", { className: "detail-links" }, h("a", { href: `#/labels/${encodeURIComponent(job.shipmentId)}` }, "Label run"))),
        h("p", { className: "detail-sub" }, h("span", {}, `${job.label.carrier} · ${job.label.service}`), h("span", {}, `Tracking ${job.label.trackingNumber}`),
          job.label.carrierLabelId ? h("span", {}, `Carrier label ${job.label.carrierLabelId}`) : null, h("span", {}, `Queued ${when(job.createdAt)}`)),
        job.label.voided ? h("p", { className: "voided" }, "This label was voided: do not ship with it.") : null,
        h("div", { className: "action neutral" }, h("div", { className: "row" },
          h("span", { className: "grow mono" }, `Job ${job.id}`),
          actionButton("Mark printed", "primary", async () => {
            await api(job.links.ack, { method: "POST", body: { stationId: job.stationId } });
            flash(`Marked printed: shipment ${job.shipmentId}`);
            await loadJobs(job.stationId);
          }))),
        frame, source].filter(Boolean));
      // The PDF is fetched with the key (an iframe cannot send it) and shown from a blob: URL.
      const response = await api(job.links.pdf, { raw: true });
      const blob = await response.blob();
      if (ticket !== shown) return;
      const url = URL.createObjectURL(new Blob([blob], { type: "application/pdf" }));
      setPreview(url);
      // Chromium's viewer: the whole 4x6 page at once, without the thumbnail pane.
      frame.src = `${url}#navpanes=0&view=Fit`;
      // What was previewed, for whoever checks the page shows the label's own file (the browser tests do).
      frame.dataset.bytes = String(blob.size);
      frame.dataset.loaded = "pdf";
    }

    $("station").addEventListener("change", () => { selectedJob = null; go(`#/printing/${encodeURIComponent($("station").value)}`); });
    const refresh = coalesce(async () => { if (route.view === "printing" && stations && stations.length) await loadJobs($("station").value); }, 300);
    return { load, refresh };
  })();

  // ---- stock -----------------------------------------------------------------------------------------------------

  const stock = (() => {
    let cursor = null;
    const locations = new Set();
    async function load(more) {
      const params = new URLSearchParams({ limit: "100" });
      if ($("stock-sku").value.trim()) params.set("sku", $("stock-sku").value.trim());
      if ($("stock-location").value) params.set("locationId", $("stock-location").value);
      if ($("stock-low").checked) params.set("belowReorderPoint", "true");
      if (more && cursor) params.set("cursor", cursor);
      const items = await api(`/inventory?${params}`);
      if (route.view !== "stock") return;
      const rows = items.map(s => h("tr", { className: s.belowReorderPoint ? "low" : "" },
        h("td", {}, s.locationName || s.locationId, " ", h("span", { className: "muted mono" }, s.locationId)),
        h("td", { className: "id" }, s.sku),
        h("td", { className: "num" }, s.onHand), h("td", { className: "num" }, s.allocated),
        h("td", { className: "num" }, h("b", {}, s.available), s.belowReorderPoint ? h("span", {}, " ", h("span", { className: "pill bad" }, "below reorder point")) : null),
        h("td", { className: "num" }, s.reorderPoint || "—"), h("td", { className: "when" }, minute(s.updatedAt))));
      if (more) $("stock").append(...rows); else $("stock").replaceChildren(...rows);
      $("stock-empty").hidden = $("stock").childElementCount > 0;
      cursor = items.length === 100 ? `${items[items.length - 1].locationId}|${items[items.length - 1].sku}` : null;
      $("stock-more").hidden = !cursor;
      // The location filter offers the locations the stock is in.
      for (const s of items) {
        if (locations.has(s.locationId)) continue;
        locations.add(s.locationId);
        $("stock-location").append(h("option", { value: s.locationId }, s.locationName || s.locationId));
      }
      const low = $("stock").querySelectorAll("tr.low").length;
      $("stock-summary").textContent = `${$("stock").childElementCount} rows · ${low} below reorder point`;
    }
    $("stock-filters").addEventListener("submit", e => { e.preventDefault(); load(false).catch(report); });
    $("stock-more").addEventListener("click", () => load(true).catch(report));
    return { load: () => load(false), refresh: coalesce(async () => { if (route.view === "stock") await load(false); }, 500) };
  })();

  // ---- live feed -------------------------------------------------------------------------------------------------

  const feed = (() => {
    const kept = [];
    const limit = 500;
    let paused = false;

    /** Where an event's subject is shown in the console, if anywhere. */
    function subjectOf(e) {
      const id = e.aggregateId;
      if (e.aggregateType === "workflow") {
        for (const [kind, k] of Object.entries(kinds)) if (id.startsWith(k.workflow)) return [kind, id.slice(k.workflow.length)];
        return null;
      }
      if (e.aggregateType === "order") return ["order", id];
      if (e.aggregateType === "payment") return ["order", id.replace(/:payment$/, "")];
      if (e.aggregateType === "refund") return ["refund", id];
      if (e.aggregateType === "return") return ["return", id];
      if (e.aggregateType === "shipment" || e.aggregateType === "label") return ["label", id];
      return null;
    }

    function summary(e) {
      const p = e.payload || {};
      if (e.eventType === "workflow.updated") return [p.status && words(p.status), p.stage].filter(Boolean).join(" · ");
      const parts = [];
      if (present(p.amount) && typeof p.amount !== "object") parts.push(`amount: ${amount(p.amount, p.currency)}`);
      // The subject is in its own column; the rest of the payload's plain facts say what happened.
      const skip = new Set(["amount", "currency", "subjectType", "subjectId", "orderId", "workflowId", "id"]);
      for (const [name, value] of Object.entries(p)) {
        // Times are the row's own column and ids are the subject's; what is left says what happened.
        if (skip.has(name) || /(At|Id)$/.test(name) || !present(value) || typeof value === "object") continue;
        parts.push(`${words(name)}: ${value}`);
      }
      return parts.slice(0, 5).join(" · ");
    }

    function row(e) {
      const subject = subjectOf(e);
      const label = `${e.aggregateType} ${e.aggregateId}`;
      return h("tr", { "data-text": `${e.eventType} ${label}`.toLowerCase() },
        h("td", { className: "when" }, short(e.occurredAt)),
        h("td", {}, h("span", { className: `pill ${/failed|declined|voided|rejected|cancel/.test(e.eventType) ? "bad" : /approval/.test(e.eventType) ? "warn" : "run"}` }, e.eventType)),
        h("td", { className: "id" }, subject ? h("a", { href: subject[0] === "return" ? `#/returns/${encodeURIComponent(subject[1])}` : `#/${kinds[subject[0]].path}/${encodeURIComponent(subject[1])}` }, label) : label),
        h("td", {}, summary(e)));
    }

    function matches(tr) {
      const filter = $("feed-filter").value.trim().toLowerCase();
      return !filter || tr.dataset.text.includes(filter);
    }

    function add(e) {
      kept.unshift(e);
      if (kept.length > limit) kept.pop();
      if (paused || route.view !== "feed") { summarize(); return; }
      const tr = row(e);
      tr.hidden = !matches(tr);
      $("feed").prepend(tr);
      while ($("feed").rows.length > limit) $("feed").lastElementChild.remove();
      summarize();
    }

    async function draw() {
      const rows = kept.map(row);
      for (const tr of rows) tr.hidden = !matches(tr);
      $("feed").replaceChildren(...rows);
      summarize();
    }

    function summarize() {
      $("feed-empty").hidden = kept.length > 0;
      $("feed-summary").textContent = `${kept.length} event${kept.length === 1 ? "" : "s"} since connecting${paused ? " · paused" : ""}`;
    }

    $("feed-filter").addEventListener("input", () => { for (const tr of $("feed").rows) tr.hidden = !matches(tr); });
    $("feed-pause").addEventListener("click", () => {
      paused = !paused;
      $("feed-pause").textContent = paused ? "Resume" : "Pause";
      if (!paused) draw();
      summarize();
    });
    $("feed-clear").addEventListener("click", () => { kept.length = 0; draw(); });
    return { add, draw, subjectOf };
  })();

  // ---- the event stream ------------------------------------------------------------------------------------------

  /** Sends one event to whatever it concerns on screen. */
  function dispatch(e) {
    feed.add(e);
    if (e.eventType.startsWith("approval.")) approvals.reload();
    const subject = feed.subjectOf(e);
    if (runOnScreen && subject && subject[0] === runOnScreen.kind && subject[1] === runOnScreen.id) redrawRuns();
    if (subject && subject[0] === "order" && e.aggregateType === "workflow") orders.refresh();
    if (subject && subject[0] === "return") returns.refresh();
    if (e.eventType.startsWith("print_job.") || e.eventType.startsWith("label.") || (subject && subject[0] === "label" && e.aggregateType === "workflow")) printing.refresh();
    if (e.eventType.startsWith("inventory.")) stock.refresh();
  }
  const redrawRuns = coalesce(async () => redrawRun(), 150);

  // The stream: its EventSource, the timer of a pending reconnect, and failures since it last opened.
  const stream = { source: null, retry: null, failures: 0 };

  // EventSource reconnects by itself when a connection drops, but an HTTP error answer (503 while the gateway's
  // listener starts, 429, a key revoked mid-session) closes it for good, and it never says which status it got.
  // So a closed stream is asked again by fetch to learn why: a refused key goes back to the key form; anything
  // else is retried with capped, jittered backoff.
  function connect() {
    disconnect();
    // EventSource cannot send headers; /events alone accepts the key as a query parameter.
    const source = stream.source = new EventSource(`${streamPath}?api_key=${encodeURIComponent(sessionStorage.getItem(keyName))}`);
    // What is on screen is reloaded on every open, which covers what happened before this stream (or a
    // reconnected one) began. A reload that fails (a 429 just after a reconnect) leaves the screen stale, so the
    // stream is dropped and reopened later like a refused one: the console says live only when it is current.
    const reload = () => Promise.all([approvals.load(), reloadView()]).catch(e => {
      if (stream.source === source && source.readyState !== EventSource.CLOSED) {
        source.close();
        retry(`Not loaded (${e.message.replace(/\.$/, "")})`, 0);
      }
      throw e;
    });
    source.onopen = () => reload().then(() => {
      if (stream.source !== source || source.readyState !== EventSource.OPEN) return;
      stream.failures = 0;
      setStatus("live", "live");
    }, () => {});
    source.onerror = () => {
      if (source.readyState === EventSource.CONNECTING) { setStatus("reconnecting…", "error"); return; }
      source.close();
      diagnose(source).catch(e => setStatus(e.message, "error"));
    };
    source.onmessage = message => {
      let event;
      try { event = JSON.parse(message.data); } catch { return; }
      dispatch(event);
    };
  }

  /** Reloads the view on screen (without touching what is typed into it). */
  async function reloadView() {
    if (route.view === "orders") await orders.load();
    else if (route.view === "returns") await returns.load();
    else if (route.view === "printing") await printing.load();
    else if (route.view === "stock") await stock.load();
    if (runOnScreen) await showRun(runOnScreen.container, runOnScreen.kind, runOnScreen.id);
  }

  function disconnect() {
    clearTimeout(stream.retry);
    if (stream.source) stream.source.close();
    stream.source = null;
  }

  async function diagnose(failed) {
    const answer = await probe();
    // Forgotten or reconnected while the probe ran: nothing left to retry.
    if (stream.source !== failed) return;
    if (answer.status === 401) { forget("The API key was refused."); return; }
    if (answer.status === 403) { forget("This API key lacks the operator scope."); return; }
    retry(`Event stream ${answer.reason}`, answer.retryAfter);
  }

  function retry(why, retryAfter) {
    // 1 s doubling up to 30 s, each wait drawn from the upper half at random so that consoles refused together
    // do not come back together; never sooner than the gateway's Retry-After.
    const ceiling = Math.min(30000, 1000 * 2 ** stream.failures++);
    const wait = Math.max(retryAfter, ceiling / 2 + Math.random() * ceiling / 2);
    setStatus(`${why}; retrying in ${Math.ceil(wait / 1000)} s`, "error");
    stream.retry = setTimeout(connect, wait);
  }

  async function probe() {
    const abort = new AbortController();
    try {
      const response = await fetch(streamPath, { headers: { "X-Api-Key": sessionStorage.getItem(keyName) }, cache: "no-store", signal: abort.signal });
      if (response.ok) return { status: response.status, reason: "dropped", retryAfter: 0 };
      const body = (response.headers.get("content-type") || "").includes("json") ? await response.json() : null;
      const seconds = Number(response.headers.get("Retry-After"));
      return { status: response.status, reason: `refused: ${(body && body.title) || "error"} (HTTP ${response.status})`, retryAfter: seconds > 0 ? seconds * 1000 : 0 };
    } catch {
      return { status: 0, reason: "unreachable", retryAfter: 0 };
    } finally {
      // A 200 is a live stream of its own; the probe only wanted its status.
      abort.abort();
    }
  }

  // ---- the key ---------------------------------------------------------------------------------------------------

  function start() {
    $("login").hidden = true;
    $("app").hidden = false;
    $("nav").hidden = false;
    $("forget").hidden = false;
    setStatus("connecting…");
    // The first load turns a refused key back at once; any other failure is the stream's to retry, and it reloads.
    approvals.load().then(() => {
      if (!sessionStorage.getItem(keyName)) return;
      render();
      connect();
    }, e => { report(e); if (sessionStorage.getItem(keyName)) { render(); connect(); } });
  }

  function forget(why) {
    sessionStorage.removeItem(keyName);
    disconnect();
    runOnScreen = null;
    $("app").hidden = true;
    $("nav").hidden = true;
    $("forget").hidden = true;
    $("login").hidden = false;
    $("login-error").textContent = why || "";
    $("login-error").hidden = !why;
    setStatus(why || "not connected", why ? "error" : "muted");
    $("key").focus();
    const error = new Error(why);
    error.forgotten = true;
    return error;
  }

  $("login").addEventListener("submit", event => {
    event.preventDefault();
    sessionStorage.setItem(keyName, $("key").value.trim());
    $("key").value = "";
    start();
  });
  $("forget").addEventListener("click", () => forget());
  window.addEventListener("hashchange", () => { if (sessionStorage.getItem(keyName)) render(); });
  if (sessionStorage.getItem(keyName)) start(); else forget();
})();
