// The network view: the party's neighbourhood drawn with Cytoscape.js; nodes coloured by
// score and sized by payments; a click opens the party; the hops selector redraws from the API.
(function () {
  "use strict";
  const container = document.getElementById("network");
  const source = document.getElementById("network-data");
  const form = document.getElementById("network-controls");
  if (!container || !source || !window.cytoscape) return;

  function partyUrl(kind, id) {
    return "/parties/" + encodeURIComponent(kind) + "/" + encodeURIComponent(id);
  }

  // green (low) -> amber -> red (high)
  function scoreColour(score) {
    const s = Math.max(0, Math.min(1, Number(score) || 0));
    const stops = [[0, [76, 175, 80]], [0.5, [255, 179, 0]], [1, [211, 47, 47]]];
    for (let i = 1; i < stops.length; i++) {
      const [s0, c0] = stops[i - 1];
      const [s1, c1] = stops[i];
      if (s <= s1) {
        const t = (s - s0) / (s1 - s0);
        const c = c0.map((v, k) => Math.round(v + t * (c1[k] - v)));
        return "rgb(" + c.join(",") + ")";
      }
    }
    return "rgb(211,47,47)";
  }

  let cy = null;

  function draw(graph) {
    const maxPayments = Math.max(1, ...graph.nodes.map((n) => n.payments || 0));
    const maxEdge = Math.max(1, ...graph.edges.map((e) => e.payments || 0));
    const elements = [
      ...graph.nodes.map((n) => ({
        data: {
          id: n.id,
          label: n.party_id,
          kind: n.kind,
          score: n.score,
          payments: n.payments || 0,
          focus: n.role === "focus",
          watchlisted: !!n.watchlisted,
          url: partyUrl(n.kind, n.party_id),
        },
      })),
      ...graph.edges.map((e) => ({
        data: { id: e.source + ">" + e.target, source: e.source, target: e.target, payments: e.payments },
      })),
    ];
    if (cy) cy.destroy();
    cy = cytoscape({
      container: container,
      elements: elements,
      wheelSensitivity: 0.3,
      style: [
        {
          selector: "node",
          style: {
            "background-color": (ele) => scoreColour(ele.data("score")),
            width: (ele) => 16 + 44 * Math.sqrt(ele.data("payments") / maxPayments),
            height: (ele) => 16 + 44 * Math.sqrt(ele.data("payments") / maxPayments),
            label: "data(label)",
            "font-size": 9,
            "text-valign": "bottom",
            "text-margin-y": 3,
            "border-width": 1,
            "border-color": "#37474f",
          },
        },
        { selector: 'node[kind = "beneficiary"]', style: { shape: "diamond" } },
        { selector: "node[?watchlisted]", style: { "border-width": 3, "border-color": "#6a1b9a" } },
        { selector: "node[?focus]", style: { "border-width": 5, "border-color": "#111", "font-weight": "bold" } },
        {
          selector: "edge",
          style: {
            width: (ele) => 1 + 6 * (ele.data("payments") / maxEdge),
            "line-color": "#b0bec5",
            "target-arrow-color": "#b0bec5",
            "target-arrow-shape": "triangle",
            "curve-style": "bezier",
          },
        },
      ],
      layout: { name: "cose", animate: false, randomize: false, nodeRepulsion: () => 9000, idealEdgeLength: () => 70, padding: 20 },
    });
    cy.on("tap", "node", (event) => {
      window.location.href = event.target.data("url");
    });
    container.cy = cy; // for the browser tests and the console
    container.dataset.nodes = String(graph.nodes.length);
    container.dataset.ready = "true";
    const summary = document.getElementById("network-summary");
    if (summary) {
      summary.textContent = graph.nodes.length + " parties, " + graph.edges.length + " payment links" +
        (graph.truncated ? " (truncated: the riskiest and busiest shown)" : "");
    }
    fillTable(graph);
  }

  function fillTable(graph) {
    const body = document.querySelector("#network-table tbody");
    if (!body) return;
    body.replaceChildren();
    [...graph.nodes].sort((a, b) => b.score - a.score).forEach((n) => {
      const row = body.insertRow();
      const kind = document.createElement("span");
      kind.className = "kind kind-" + n.kind;
      kind.textContent = n.kind;
      row.insertCell().append(kind);
      const link = document.createElement("a");
      link.href = partyUrl(n.kind, n.party_id);
      link.textContent = n.party_id;
      row.insertCell().append(link);
      row.insertCell().textContent = n.name;
      row.insertCell().textContent = n.country;
      const score = row.insertCell();
      score.className = "num";
      score.textContent = Number(n.score).toFixed(3);
      const payments = row.insertCell();
      payments.className = "num";
      payments.textContent = n.payments;
      const indicators = row.insertCell();
      (n.indicators || "").split(";").filter(Boolean).forEach((i) => {
        const chip = document.createElement("span");
        chip.className = "chip";
        chip.textContent = i;
        indicators.append(chip);
      });
    });
  }

  draw(JSON.parse(source.textContent));

  if (form) {
    const hops = form.querySelector("select[name=hops]");
    hops.addEventListener("change", async () => {
      container.dataset.ready = "false";
      const response = await fetch(form.dataset.api + "?hops=" + encodeURIComponent(hops.value), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (response.status === 401) {
        window.location.href = "/login?next=" + encodeURIComponent(window.location.pathname);
        return;
      }
      if (!response.ok) return;
      draw(await response.json());
      const url = new URL(window.location.href);
      url.searchParams.set("hops", hops.value);
      window.history.replaceState(null, "", url);
    });
  }
})();
