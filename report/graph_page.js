/* circfin's graph page. Every text from the data is set with textContent (never
 * innerHTML) or drawn on the canvas by Cytoscape; only http(s) URLs become links.
 * window.circfin exposes the page's state for tests and for people at the console. */
(function () {
  "use strict";
  var errors = [];
  var api = (window.circfin = {
    ready: false, errors: errors, highlighted: [], highlightedDeals: [], selectedLoop: null,
    visibleDeals: [], detailsFor: null
  });
  window.addEventListener("error", function (e) { errors.push(String(e.message)); });

  var data = JSON.parse(document.getElementById("circfin-data").textContent);
  var dealsById = Object.create(null);
  var entsById = Object.create(null);
  var loopsByKey = Object.create(null);
  data.deals.forEach(function (d) { dealsById[d.id] = d; });
  data.entities.forEach(function (e) { entsById[e.id] = e; });
  data.loops.forEach(function (l) { loopsByKey[l.key] = l; });

  // ---- small DOM helpers: text only ----
  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }
  function clear(n) { while (n.firstChild) n.removeChild(n.firstChild); return n; }
  function safeHref(url) {
    if (typeof url !== "string" || !url) return null;
    var u;
    try { u = new URL(url); } catch (e) { return null; }
    return (u.protocol === "http:" || u.protocol === "https:") ? u.href : null;
  }
  function link(url, text) {
    var href = safeHref(url);
    if (!href) return el("span", "muted", url ? text + " (not a web link)" : "no source");
    var a = el("a", null, text);
    a.href = href;
    a.rel = "noopener noreferrer";
    a.target = "_blank";
    return a;
  }
  function money(v) {
    if (v === null || v === undefined) return "n/d";
    var units = [[1e12, "T"], [1e9, "B"], [1e6, "M"], [1e3, "K"]];
    for (var i = 0; i < units.length; i++) {
      if (Math.abs(v) >= units[i][0]) {
        var s = (v / units[i][0]).toFixed(1);
        if (s.slice(-2) === ".0") s = s.slice(0, -2);
        return "$" + s + units[i][1];
      }
    }
    return "$" + Math.round(v);
  }
  function amountText(d) {
    if (d.amount_usd === null || d.amount_usd === undefined) return "undisclosed";
    var q = d.amount_qualifier && d.amount_qualifier !== "exact" ? " (" + d.amount_qualifier.replace("_", " ") + ")" : "";
    return money(d.amount_usd) + q;
  }
  function nameOf(id) { return entsById[id] ? entsById[id].name : id; }
  function kv(pairs) {
    var dl = el("dl", "kv");
    pairs.forEach(function (p) {
      if (p[1] === null || p[1] === undefined || p[1] === "") return;
      dl.appendChild(el("dt", null, p[0]));
      var dd = el("dd");
      if (p[1] instanceof Node) dd.appendChild(p[1]); else dd.textContent = String(p[1]);
      dl.appendChild(dd);
    });
    return dl;
  }
  function dealLine(d, from) {
    var li = el("li");
    var other = from === d.payer ? "→ " + nameOf(d.payee) : from === d.payee ? "← " + nameOf(d.payer)
      : nameOf(d.payer) + " → " + nameOf(d.payee);
    li.appendChild(el("strong", null, d.id));
    li.appendChild(document.createTextNode(" " + other + ": " + (d.type || "?") + ", " + amountText(d)
      + ", " + (d.date || "undated") + (d.status ? ", " + d.status : "") + " · "));
    li.appendChild(link(d.link || d.source_url, "source"));
    li.addEventListener("click", function (ev) { if (ev.target.tagName !== "A") showDeal(d.id, true); });
    return li;
  }

  // ---- header ----
  document.getElementById("title").textContent = data.title;
  document.title = data.title;
  var sub = data.entities.length + " entities, " + data.deals.length + " deals, " + data.loops_total
    + " loop" + (data.loops_total === 1 ? "" : "s");
  if (data.selection && data.selection.note) sub += " · " + data.selection.note;
  document.getElementById("subtitle").textContent = sub;

  var container = document.getElementById("cy");
  if (!data.entities.length) {
    container.appendChild(el("p", "empty", "No deals to show: ingest some first (circfin seed)."));
  }

  // ---- the graph ----
  var maxVol = 0, maxAmt = 0;
  data.entities.forEach(function (e) { if (e.volume_usd > maxVol) maxVol = e.volume_usd; });
  data.deals.forEach(function (d) { if (d.amount_usd > maxAmt) maxAmt = d.amount_usd; });
  var elements = [];
  data.entities.forEach(function (e) {
    elements.push({ group: "nodes", data: {
      id: "n:" + e.id, ent: e.id, label: e.name, kind: e.kind,
      color: data.kind_colours[e.kind] || "#999",
      size: 16 + 56 * Math.sqrt(maxVol > 0 ? (e.volume_usd || 0) / maxVol : 0)
    }, position: { x: e.x, y: e.y } });
  });
  data.deals.forEach(function (d) {
    var cls = [];
    if (d.amount_usd === null) cls.push("undisclosed");
    if (d.status === "cancelled") cls.push("cancelled");
    elements.push({ group: "edges", classes: cls.join(" "), data: {
      id: "d:" + d.id, deal: d.id, source: "n:" + d.payer, target: "n:" + d.payee,
      color: data.type_colours[d.type] || "#999",
      width: d.amount_usd === null ? 1.5 : 1.5 + 6 * Math.sqrt(maxAmt > 0 ? d.amount_usd / maxAmt : 0)
    } });
  });
  var cy = cytoscape({
    container: container, elements: elements, layout: { name: "preset", fit: true, padding: 30 },
    minZoom: 0.05, maxZoom: 6, boxSelectionEnabled: false,
    style: [
      { selector: "node", style: {
        "background-color": "data(color)", width: "data(size)", height: "data(size)",
        label: "data(label)", "font-size": 13, "text-valign": "bottom", "text-margin-y": 3,
        color: "#1d2330", "text-outline-color": "#ffffff", "text-outline-width": 2,
        "border-width": 1, "border-color": "#ffffff", "min-zoomed-font-size": 6 } },
      { selector: "edge", style: {
        "curve-style": "bezier", "control-point-step-size": 14, "target-arrow-shape": "triangle",
        "line-color": "data(color)", "target-arrow-color": "data(color)", width: "data(width)",
        "arrow-scale": 0.8, opacity: 0.75 } },
      { selector: "edge.undisclosed", style: { "line-style": "dashed" } },
      { selector: "edge.cancelled", style: { "line-style": "dotted" } },
      { selector: ".faded", style: { opacity: 0.18, "text-opacity": 0.3 } },
      { selector: "node.hl", style: { "border-width": 4, "border-color": "#d62728", "font-weight": "bold", "z-index": 10 } },
      { selector: "edge.hl", style: { opacity: 1, "z-index": 10, "underlay-color": "#d62728",
        "underlay-padding": 3, "underlay-opacity": 0.35 } },
      { selector: ".hidden", style: { display: "none" } },
      { selector: "node:selected", style: { "border-width": 4, "border-color": "#1f5fbf" } },
      { selector: "edge:selected", style: { "underlay-color": "#1f5fbf", "underlay-padding": 3, "underlay-opacity": 0.5 } }
    ]
  });

  // ---- highlighting ----
  var baseHighlight = data.highlight.slice();
  function applyHighlight(keys) {
    var nodes = {}, deals = {};
    keys.forEach(function (k) {
      var l = loopsByKey[k];
      if (!l) return;
      l.ids.forEach(function (id) { nodes[id] = true; });
      l.legs.forEach(function (leg) { leg.deal_ids.forEach(function (d) { deals[d] = true; }); });
    });
    cy.batch(function () {
      cy.elements().removeClass("hl faded");
      if (!keys.length) return;
      cy.nodes().forEach(function (n) { n.addClass(nodes[n.data("ent")] ? "hl" : "faded"); });
      cy.edges().forEach(function (e) { e.addClass(deals[e.data("deal")] ? "hl" : "faded"); });
    });
    api.highlighted = Object.keys(nodes).sort();
    api.highlightedDeals = Object.keys(deals).sort();
    refreshLoopButtons();
  }
  function selectLoop(key) {
    if (key && !loopsByKey[key]) throw new Error("no such loop on this page: " + key);
    api.selectedLoop = key || null;
    applyHighlight(key ? [key] : baseHighlight);
    if (key) showLoop(key); else showHint();
  }

  // ---- details panel ----
  var details = document.getElementById("details-body");
  var pinned = null;
  function showHint() {
    clear(details).appendChild(el("p", "hint", "Hover or click an entity or a deal."));
    api.detailsFor = null;
  }
  function showEntity(id, pin) {
    var e = entsById[id];
    if (!e) return;
    if (pin) pinned = ["entity", id];
    clear(details);
    details.appendChild(el("div", "name", e.name));
    details.appendChild(kv([["id", e.id], ["kind", e.kind.replace("_", " ")],
      ["volume", money(e.volume_usd) + " disclosed, in and out"], ["deals", e.deals],
      ["source", e.link || e.source_url ? link(e.link || e.source_url, "entity source") : null]]));
    var outs = [], ins = [];
    data.deals.forEach(function (d) { if (d.payer === id) outs.push(d); else if (d.payee === id) ins.push(d); });
    [["Pays", outs], ["Is paid by", ins]].forEach(function (part) {
      if (!part[1].length) return;
      details.appendChild(el("div", "muted", part[0] + " (" + part[1].length + ")"));
      var ul = el("ul", "deals");
      part[1].forEach(function (d) { ul.appendChild(dealLine(d, id)); });
      details.appendChild(ul);
    });
    api.detailsFor = "entity:" + id;
  }
  function showDeal(id, pin) {
    var d = dealsById[id];
    if (!d) return;
    if (pin) pinned = ["deal", id];
    clear(details);
    details.appendChild(el("div", "name", d.id + ": " + nameOf(d.payer) + " → " + nameOf(d.payee)));
    details.appendChild(kv([["type", d.type], ["amount", amountText(d)], ["date", d.date || "undated"],
      ["status", d.status], ["confidence", d.confidence],
      ["source", link(d.link || d.source_url, d.source_url || "")]]));
    if (d.description) details.appendChild(el("p", "desc", d.description));
    api.detailsFor = "deal:" + id;
  }
  function showLoop(key) {
    var l = loopsByKey[key];
    clear(details);
    details.appendChild(el("div", "name", l.entities.concat([l.entities[0]]).join(" → ")));
    details.appendChild(kv([["key", l.key], ["bottleneck", money(l.bottleneck_usd)],
      ["dates", (l.date_span[0] || "?") + " … " + (l.date_span[1] || "?")], ["types", l.types.join(", ")]]));
    var ol = el("ol", "legs");
    l.legs.forEach(function (leg) {
      var li = el("li", null, leg.payer + " → " + leg.payee + ": " + money(leg.amount_usd));
      var ul = el("ul", "deals");
      leg.deal_ids.forEach(function (id) { if (dealsById[id]) ul.appendChild(dealLine(dealsById[id], null)); });
      li.appendChild(ul);
      ol.appendChild(li);
    });
    details.appendChild(ol);
    api.detailsFor = "loop:" + key;
  }
  function restorePinned() {
    if (!pinned) return;
    if (pinned[0] === "entity") showEntity(pinned[1]); else showDeal(pinned[1]);
  }
  cy.on("mouseover", "node", function (ev) { showEntity(ev.target.data("ent")); });
  cy.on("mouseover", "edge", function (ev) { showDeal(ev.target.data("deal")); });
  cy.on("mouseout", "node, edge", restorePinned);
  cy.on("tap", "node", function (ev) { showEntity(ev.target.data("ent"), true); });
  cy.on("tap", "edge", function (ev) { showDeal(ev.target.data("deal"), true); });
  cy.on("tap", function (ev) { if (ev.target === cy) { pinned = null; selectLoop(api.selectedLoop); } });

  // ---- loops list ----
  var loopButtons = [];
  function refreshLoopButtons() {
    loopButtons.forEach(function (b) {
      b.classList.toggle("on", b.dataset.key === api.selectedLoop);
      b.classList.toggle("hl", baseHighlight.indexOf(b.dataset.key) >= 0);
    });
  }
  (function buildLoops() {
    var body = document.getElementById("loops-body");
    var sel = data.selection || {};
    var head = document.getElementById("loops-title");
    if (sel.kind === "entity") head.textContent = "Loops through " + sel.label + " (" + baseHighlight.length + ")";
    else if (sel.kind === "flag") head.textContent = "Loops flagged " + sel.label + " (" + baseHighlight.length + ")";
    else if (sel.kind === "loop") head.textContent = "Loops (selected: " + sel.value + ")";
    else head.textContent = "Loops (" + data.loops_total + ")";
    if (!data.loops.length) { body.appendChild(el("p", "hint", "No loops among the deals shown.")); return; }
    var row = el("div", "row");
    var all = el("button", "small", baseHighlight.length ? "Show all highlighted" : "Clear selection");
    all.addEventListener("click", function () { pinned = null; selectLoop(null); });
    row.appendChild(all);
    if (data.loops.length < data.loops_total) row.appendChild(el("span", "muted", "first " + data.loops.length + " listed"));
    body.appendChild(row);
    var ul = el("ul", "loops");
    var ordered = data.loops.slice().sort(function (a, b) {
      var ha = baseHighlight.indexOf(a.key) >= 0 ? 0 : 1, hb = baseHighlight.indexOf(b.key) >= 0 ? 0 : 1;
      return ha - hb || a.ids.length - b.ids.length || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
    });
    ordered.forEach(function (l) {
      var li = el("li");
      var b = el("button", null, l.entities.concat([l.entities[0]]).join(" → ") + " · " + money(l.bottleneck_usd));
      b.type = "button";
      b.dataset.key = l.key;
      b.addEventListener("click", function () { pinned = null; selectLoop(l.key); });
      loopButtons.push(b);
      li.appendChild(b);
      ul.appendChild(li);
    });
    body.appendChild(ul);
  })();

  // ---- filters: date range and deal types ----
  var presentTypes = [];
  data.deals.forEach(function (d) { if (d.type && presentTypes.indexOf(d.type) < 0) presentTypes.push(d.type); });
  presentTypes.sort();
  var filter = { from: null, to: null, types: presentTypes.slice() };
  function dayOf(iso) {
    if (!iso) return null;
    var t = Date.parse(iso + "T00:00:00Z");
    return isNaN(t) ? null : Math.floor(t / 86400000);
  }
  function applyFilter() {
    var lo = dayOf(filter.from), hi = dayOf(filter.to), types = {};
    filter.types.forEach(function (t) { types[t] = true; });
    var visible = [], touched = {};
    cy.batch(function () {
      cy.edges().forEach(function (e) {
        var d = dealsById[e.data("deal")];
        var ok = !!types[d.type]
          && (lo === null || (d.day !== null && d.day >= lo))
          && (hi === null || (d.day !== null && d.day <= hi));
        e.toggleClass("hidden", !ok);
        if (ok) { visible.push(d.id); touched[d.payer] = true; touched[d.payee] = true; }
      });
      var any = lo !== null || hi !== null || filter.types.length !== presentTypes.length;
      cy.nodes().forEach(function (n) { n.toggleClass("hidden", any && !touched[n.data("ent")]); });
    });
    api.visibleDeals = visible.sort();
  }
  function setFilter(f) {
    f = f || {};
    if ("from" in f) filter.from = f.from || null;
    if ("to" in f) filter.to = f.to || null;
    if ("types" in f) filter.types = (f.types || presentTypes).filter(function (t) { return presentTypes.indexOf(t) >= 0; });
    syncInputs();
    applyFilter();
    return api.visibleDeals.length;
  }
  var inputs = { from: null, to: null, boxes: [] };
  function syncInputs() {
    inputs.from.value = filter.from || "";
    inputs.to.value = filter.to || "";
    inputs.boxes.forEach(function (b) { b.checked = filter.types.indexOf(b.value) >= 0; });
  }
  (function buildFilters() {
    var body = document.getElementById("filters-body");
    var days = data.deals.map(function (d) { return d.date; }).filter(Boolean).sort();
    var row = el("div", "row");
    var lf = el("label", null, "from");
    inputs.from = el("input"); inputs.from.type = "date";
    lf.appendChild(inputs.from);
    var lt = el("label", null, "to");
    inputs.to = el("input"); inputs.to.type = "date";
    lt.appendChild(inputs.to);
    row.appendChild(lf); row.appendChild(lt);
    body.appendChild(row);
    if (days.length) body.appendChild(el("div", "muted", "deals dated " + days[0] + " … " + days[days.length - 1]));
    var box = el("div", "types");
    presentTypes.forEach(function (t) {
      var lab = el("label");
      var cb = el("input"); cb.type = "checkbox"; cb.value = t; cb.checked = true;
      cb.addEventListener("change", function () {
        setFilter({ types: inputs.boxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; }) });
      });
      inputs.boxes.push(cb);
      var sw = el("span", "bar"); sw.style.backgroundColor = data.type_colours[t] || "#999";
      lab.appendChild(cb); lab.appendChild(sw); lab.appendChild(document.createTextNode(t.replace(/_/g, " ")));
      box.appendChild(lab);
    });
    body.appendChild(box);
    var row2 = el("div", "row");
    var reset = el("button", "small", "Reset filter"); reset.type = "button";
    reset.addEventListener("click", function () { setFilter({ from: null, to: null, types: presentTypes }); });
    var fit = el("button", "small", "Fit view"); fit.type = "button";
    fit.addEventListener("click", function () { cy.fit(cy.elements(":visible"), 30); });
    row2.appendChild(reset); row2.appendChild(fit);
    body.appendChild(row2);
    inputs.from.addEventListener("change", function () { setFilter({ from: inputs.from.value }); });
    inputs.to.addEventListener("change", function () { setFilter({ to: inputs.to.value }); });
  })();

  // ---- legend ----
  (function buildLegend() {
    var body = document.getElementById("legend-body");
    var kinds = {};
    data.entities.forEach(function (e) { kinds[e.kind] = true; });
    var grid = el("div", "legend-grid");
    Object.keys(kinds).sort().forEach(function (k) {
      var row = el("div");
      var sw = el("span", "swatch"); sw.style.backgroundColor = data.kind_colours[k] || "#999";
      row.appendChild(sw); row.appendChild(document.createTextNode(k.replace(/_/g, " ")));
      grid.appendChild(row);
    });
    body.appendChild(grid);
    body.appendChild(el("p", "muted", "Circles: entities, sized by disclosed deal volume, coloured by kind. "
      + "Arrows: deals, the way the money flows, coloured by deal type (see Filter), thicker for larger amounts; "
      + "dashed: amount undisclosed. Red: highlighted loops."));
  })();

  // Keep the whole web in view when the window (or the report's frame) changes size,
  // until the reader zooms or pans by hand.
  var moved = false;
  cy.on("scrollzoom pinchzoom dragpan", function () { moved = true; });
  window.addEventListener("resize", function () {
    cy.resize();
    if (!moved) cy.fit(cy.elements(":visible"), 30);
  });

  api.selectLoop = selectLoop;
  api.showEntity = function (id) { showEntity(id, true); };
  api.showDeal = function (id) { showDeal(id, true); };
  api.setFilter = setFilter;
  api.cy = cy;
  applyHighlight(baseHighlight);
  if (data.selection && data.selection.kind === "loop") { api.selectedLoop = data.selection.value; showLoop(data.selection.value); refreshLoopButtons(); }
  applyFilter();
  api.ready = true;
})();
