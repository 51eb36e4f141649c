// The jupyter-ack status panel. Every name and message from Python is set as TEXT
// (textContent / createTextNode / SVG <text>), never parsed as markup.
const SVG = "http://www.w3.org/2000/svg";
// Colours come from Python (jupyter_ack.render.theme) in the `theme` trait: one palette for
// the static SVG, this panel and the sidebar.

function applyTheme(root, theme) {
  const vars = {
    text: theme.text,
    muted: theme.muted,
    danger: theme.danger,
    ok: theme.ok,
    running: theme.running,
  };
  for (const [kind, [colour, dash]] of Object.entries(theme.edges || {})) {
    vars[`edge-${kind}`] = colour;
    vars[`dash-${kind}`] = dash || "none";
  }
  for (const [state, [, stroke]] of Object.entries(theme.status || {})) {
    vars[`status-${state}`] = stroke;
  }
  const [groupFill, groupStroke] = theme.group || [];
  vars["group-fill"] = groupFill;
  vars["group-stroke"] = groupStroke;
  for (const [name, value] of Object.entries(vars)) {
    if (value) root.style.setProperty(`--jack-${name}`, value);
  }
}

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function svgEl(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  return node;
}

function pathData(points) {
  if (!points || points.length < 2) return "";
  let d = `M${points[0][0]},${points[0][1]}`;
  for (let i = 1; i < points.length; i++) {
    const [xa, ya] = points[i - 1];
    const [xb, yb] = points[i];
    if (xa === xb) d += ` L${xb},${yb}`;
    else {
      const bend = Math.max(16, (yb - ya) / 2);
      d += ` C${xa},${ya + bend} ${xb},${yb - bend} ${xb},${yb}`;
    }
  }
  return d;
}

function drawDag(layout) {
  const w = Math.max(layout.width || 0, 120);
  const h = Math.max(layout.height || 0, 40);
  const svg = svgEl("svg", { class: "jack-dag", width: w, height: h, viewBox: `0 0 ${w} ${h}` });
  const nodes = new Map();
  // branch groups (a Condition's if / else) behind the edges and the boxes; the label sits in
  // the bottom left corner (jupyter_ack.pipeline.layout.GroupBox), the full name in a tooltip
  for (const grp of layout.groups || []) {
    const g = svgEl("g", { class: "jack-group" });
    g.dataset.parent = grp.parent;
    g.dataset.branch = grp.branch || "";
    const title = svgEl("title");
    title.textContent = grp.branch ? `${grp.parent} \u00b7 ${grp.branch}` : grp.parent;
    const { x, y, width, height } = grp;
    const rect = svgEl("rect", { x, y, width, height, rx: 10 });
    const label = svgEl("text", { x: x + 8, y: y + height - 7, class: "jack-group-label" });
    label.textContent = grp.label;
    g.append(title, rect, label);
    svg.appendChild(g);
  }
  for (const e of layout.edges || []) {
    const p = svgEl("path", { class: `jack-edge jack-edge-${e.kind}`, d: pathData(e.points) });
    svg.appendChild(p);
  }
  for (const n of layout.nodes || []) {
    const g = svgEl("g", { class: "jack-node" });
    g.dataset.step = n.name;
    const title = svgEl("title");
    title.textContent = n.name;
    const rect = svgEl("rect", { x: n.x, y: n.y, width: n.width, height: n.height, rx: 7 });
    const label = svgEl("text", { x: n.x + 12, y: n.y + 20, class: "jack-label" });
    label.textContent = n.label;
    const sub = svgEl("text", { x: n.x + 12, y: n.y + 36, class: "jack-sub" });
    sub.textContent = n.type || "?";
    g.append(title, rect, label, sub);
    svg.appendChild(g);
    nodes.set(n.name, { g, rect, sub, type: n.type || "?" });
  }
  return { svg, nodes };
}

function elapsed(run) {
  if (!run || !run.start) return "";
  const start = Date.parse(run.start);
  const end = run.end ? Date.parse(run.end) : Date.now();
  if (Number.isNaN(start)) return "";
  const s = Math.max(0, Math.round((end - start) / 1000));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s} s`;
}

function render({ model, el: root }) {
  root.classList.add("jack-panel");
  const theme = model.get("theme") || {};
  const colours = theme.status || {};
  const idle = theme.idle || ["#ffffff", "#cbd5e1"];
  applyTheme(root, theme);
  const header = el("div", "jack-header");
  const title = el("strong", "jack-title");
  const status = el("span", "jack-status");
  const time = el("span", "jack-elapsed");
  const stop = el("button", "jack-stop", "Stop run");
  header.append(title, status, time, stop);
  const params = el("div", "jack-params");
  const reason = el("div", "jack-reason");
  const lost = el("div", "jack-unreachable");
  const note = el("div", "jack-note");
  const dagBox = el("div", "jack-dag-box");
  const legend = el("div", "jack-legend");
  for (const [name, [fill, stroke]] of Object.entries(colours)) {
    const item = el("span", "jack-legend-item");
    const swatch = el("span", "jack-swatch");
    swatch.style.background = fill;
    swatch.style.borderColor = stroke;
    item.append(swatch, document.createTextNode(name));
    legend.appendChild(item);
  }
  const steps = el("ul", "jack-step-list");
  // "Re-run from here": pick a step (its box or its row) of a finished run
  const actions = el("div", "jack-actions");
  const picked = el("span", "jack-picked");
  const rerun = el("button", "jack-rerun", "Re-run from here");
  actions.append(picked, rerun);
  actions.hidden = true;
  let pick = null;
  root.append(header, params, reason, lost, note, dagBox, legend, actions, steps);

  const offerRerun = () => {
    const run = model.get("run");
    const open = Boolean(pick && run && run.finished && model.get("rerunnable"));
    actions.hidden = !open;
    picked.textContent = open ? `step ${pick}` : "";
    for (const [name, node] of dag.nodes) node.g.classList.toggle("jack-picked-node", name === pick);
  };
  const choose = (name) => {
    pick = pick === name ? null : name;
    offerRerun();
  };

  let dag = { svg: null, nodes: new Map() };
  const drawLayout = () => {
    dagBox.replaceChildren();
    const layout = model.get("layout_json") || {};
    if ((layout.nodes || []).length) {
      dag = drawDag(layout);
      dagBox.appendChild(dag.svg);
      for (const [name, node] of dag.nodes) {
        node.g.setAttribute("tabindex", "0");
        node.g.setAttribute("role", "button");
        node.g.addEventListener("click", () => choose(name));
        node.g.addEventListener("keydown", (e) => {
          if (e.key === "Enter" || e.key === " ") {
            e.preventDefault();
            choose(name);
          }
        });
      }
    } else dag = { svg: null, nodes: new Map() };
  };

  const update = () => {
    const run = model.get("run");
    title.textContent = model.get("title") || (run && run.pipeline) || "pipeline";
    note.textContent = model.get("message") || "";
    stop.hidden = !model.get("stoppable");
    status.textContent = run ? run.status : "no run";
    status.dataset.status = run ? run.status : "";
    time.textContent = elapsed(run);
    const p = (run && run.parameters) || {};
    params.textContent = Object.keys(p).length
      ? "parameters: " + Object.entries(p).map(([k, v]) => `${k}=${v}`).join(", ")
      : "";
    reason.textContent = (run && (run.problem || run.failure_reason)) || "";
    lost.textContent =
      run && run.unreachable ? `cluster unreachable: ${run.unreachable}; retrying` : "";
    const byName = new Map(((run && run.steps) || []).map((s) => [s.name, s]));
    for (const [name, node] of dag.nodes) {
      const s = byName.get(name);
      const [fill, stroke] = (s && colours[s.status]) || idle;
      node.rect.setAttribute("fill", fill);
      node.rect.setAttribute("stroke", stroke);
      node.g.dataset.status = s ? s.status : "";
      node.g.classList.toggle("jack-node-reused", Boolean(s && s.from_run));
      const reused = s && s.from_run ? " \u00b7 reused" : "";
      node.sub.textContent = s ? `${node.type} \u00b7 ${s.status}${reused}` : node.type;
    }
    steps.replaceChildren();
    for (const s of (run && run.steps) || []) {
      const li = el("li", "jack-step");
      li.dataset.status = s.status;
      const name = el("button", "jack-step-name", s.name);
      name.addEventListener("click", () => choose(s.name));
      li.append(name, el("span", "jack-step-status", s.status));
      if (s.from_run) li.appendChild(el("span", "jack-step-from", "from the source run"));
      for (const [label, url] of [["console", s.console_url], ["logs", s.logs_url]]) {
        if (url && /^https:\/\//.test(url)) {
          const a = el("a", "jack-link", label);
          a.href = url;
          a.target = "_blank";
          a.rel = "noopener noreferrer";
          li.appendChild(a);
        }
      }
      if (s.failure_reason) li.appendChild(el("span", "jack-step-reason", s.failure_reason));
      steps.appendChild(li);
    }
    offerRerun();
  };

  rerun.addEventListener("click", () => {
    const run = model.get("run");
    if (!pick || !run) return;
    const question = `Re-run ${run.name} from ${pick}? A new run starts with that step and every step after it; the others are taken from ${run.name}.`;
    if (window.confirm(question)) {
      rerun.disabled = true;
      model.send({ type: "rerun", from_step: pick });
    }
  });

  stop.addEventListener("click", () => {
    const run = model.get("run");
    const name = run ? run.name : "this run";
    if (window.confirm(`Stop ${name}? Its PipelineExecution is deleted and ACK stops the run.`)) {
      stop.disabled = true;
      model.send({ type: "stop" });
    }
  });
  model.on("msg:custom", (msg) => {
    if (msg && msg.type === "stop-result") {
      note.textContent = msg.message || "";
      stop.disabled = false;
    } else if (msg && msg.type === "rerun-result") {
      note.textContent = msg.message || "";
      rerun.disabled = false;
      if (msg.ok) pick = null;
      offerRerun();
    }
  });

  drawLayout();
  update();
  model.on("change:layout_json", () => {
    drawLayout();
    update();
  });
  for (const name of ["run", "message", "stoppable", "rerunnable", "title"]) {
    model.on(`change:${name}`, update);
  }
  const timer = setInterval(() => {
    const run = model.get("run");
    if (run && !run.finished) time.textContent = elapsed(run);
  }, 1000);
  return () => clearInterval(timer);
}

export default { render };
