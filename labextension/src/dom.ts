// DOM helpers: every text goes in as text (textContent), never as markup.

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string | null,
  doc: Document = document
): HTMLElementTagNameMap[K] {
  const node = doc.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined && text !== null) {
    node.textContent = text;
  }
  return node;
}

export function button(
  className: string,
  label: string,
  onClick: (event: MouseEvent) => void,
  title?: string,
  doc: Document = document
): HTMLButtonElement {
  const b = el('button', `jp-mod-styled ${className}`, label, doc);
  b.type = 'button';
  if (title) {
    b.title = title;
  }
  b.addEventListener('click', onClick);
  return b;
}

/** Set text only when it changed (keeps the DOM quiet on every tick). */
export function setText(node: Node, text: string): void {
  if (node.textContent !== text) {
    node.textContent = text;
  }
}

/** A link opened in a new tab, only for https URLs (no `javascript:` or relative ones). */
export function safeLink(
  label: string,
  url: string | null | undefined,
  className = 'jp-ack-link',
  doc: Document = document
): HTMLAnchorElement | null {
  if (!url || !/^https:\/\//i.test(url)) {
    return null;
  }
  const a = el('a', className, label, doc);
  a.href = url;
  a.target = '_blank';
  a.rel = 'noopener noreferrer';
  return a;
}
