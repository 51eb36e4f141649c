// The handoff card with a copy button per command. Everything is text (textContent).

function copyText(text, button) {
  const done = () => {
    button.textContent = "copied";
    setTimeout(() => (button.textContent = "copy"), 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, () => fallbackCopy(text, done));
  } else {
    fallbackCopy(text, done);
  }
}

function fallbackCopy(text, done) {
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "absolute";
  area.style.left = "-9999px";
  document.body.appendChild(area);
  area.select();
  try {
    document.execCommand("copy");
    done();
  } finally {
    document.body.removeChild(area);
  }
}

function draw(el, card) {
  el.replaceChildren();
  const box = document.createElement("div");
  box.className = "jack-card";
  const title = document.createElement("div");
  const strong = document.createElement("strong");
  strong.textContent = card.title || "handoff";
  title.appendChild(strong);
  box.appendChild(title);
  const table = document.createElement("table");
  for (const [key, value] of card.rows || []) {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    th.textContent = key;
    const td = document.createElement("td");
    const code = document.createElement("code");
    code.textContent = value;
    td.appendChild(code);
    const copy = document.createElement("button");
    copy.className = "jack-copy-button";
    copy.textContent = "copy";
    copy.addEventListener("click", () => copyText(value, copy));
    td.appendChild(copy);
    tr.append(th, td);
    table.appendChild(tr);
  }
  box.appendChild(table);
  if (card.note) {
    const note = document.createElement("p");
    note.className = "jack-card-note";
    note.textContent = card.note;
    box.appendChild(note);
  }
  for (const block of card.blocks || []) {
    const details = document.createElement("details");
    details.open = Boolean(block.open);
    const summary = document.createElement("summary");
    summary.textContent = block.label;
    const copy = document.createElement("button");
    copy.className = "jack-copy-button";
    copy.textContent = "copy";
    copy.addEventListener("click", (event) => {
      event.preventDefault();
      copyText(block.text, copy);
    });
    summary.appendChild(copy);
    const pre = document.createElement("pre");
    pre.textContent = block.text;
    details.append(summary, pre);
    box.appendChild(details);
  }
  el.appendChild(box);
}

function render({ model, el }) {
  draw(el, model.get("card"));
  model.on("change:card", () => draw(el, model.get("card")));
}

export default { render };
