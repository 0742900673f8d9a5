// Turns untrusted page markup into a small allow-listed tree that the H5P and Markdown
// writers render. Nothing is copied through by default: only the tags and attributes
// listed here survive, so scripts, styles, frames, event handlers and javascript:/data:
// URLs cannot reach a package. Links and images are made absolute against the page URL.

/** The few DOM members the sanitizer reads (linkedom provides them; no DOM lib types here). */
export interface DomNode {
  nodeType: number;
  localName?: string;
  nodeValue: string | null;
  textContent: string | null;
  childNodes: ArrayLike<DomNode>;
  getAttribute?(name: string): string | null;
}

export type InlineTag = 'a' | 'strong' | 'em' | 'code' | 'del' | 'br' | 'img';
export type BlockTag =
  'p' | 'h1' | 'h2' | 'h3' | 'h4' | 'h5' | 'h6' | 'ul' | 'ol' | 'li' | 'pre' | 'blockquote' | 'hr' | 'table' | 'tr' | 'th' | 'td';

export interface SafeElement {
  tag: InlineTag | BlockTag;
  /** Only `href` (a), `src`/`alt` (img) and `start` (ol); URLs already absolute and http(s)/mailto. */
  attrs?: Record<string, string>;
  children: SafeNode[];
}
export type SafeNode = string | SafeElement;

const ELEMENT = 1;
const TEXT = 3;
const CDATA = 4;

/** Dropped with everything inside them. */
const DROP = new Set([
  'script',
  'style',
  'noscript',
  'template',
  'iframe',
  'frame',
  'frameset',
  'object',
  'embed',
  'applet',
  'form',
  'input',
  'button',
  'select',
  'textarea',
  'option',
  'svg',
  'math',
  'canvas',
  'video',
  'audio',
  'source',
  'track',
  'map',
  'area',
  'link',
  'meta',
  'base',
  'head',
  'title',
  'nav',
  'dialog',
]);

/** Rendered as inline content; any other unknown element is treated as a block container. */
const INLINE = new Set([
  'a',
  'abbr',
  'b',
  'bdi',
  'bdo',
  'br',
  'cite',
  'code',
  'data',
  'del',
  'dfn',
  'em',
  'font',
  'i',
  'img',
  'ins',
  'kbd',
  'label',
  'mark',
  'q',
  's',
  'samp',
  'small',
  'span',
  'strike',
  'strong',
  'sub',
  'sup',
  'time',
  'tt',
  'u',
  'var',
  'wbr',
]);

const INLINE_RENAME: Record<string, InlineTag> = {
  b: 'strong',
  strong: 'strong',
  i: 'em',
  em: 'em',
  code: 'code',
  kbd: 'code',
  samp: 'code',
  tt: 'code',
  del: 'del',
  s: 'del',
  strike: 'del',
};

const HEADINGS = new Set(['h1', 'h2', 'h3', 'h4', 'h5', 'h6']);

const LINK_PROTOCOLS = new Set(['http:', 'https:', 'mailto:']);
const IMAGE_PROTOCOLS = new Set(['http:', 'https:']);

/** Resolves a URL attribute against the page; undefined when it is not a safe scheme. */
export function safeUrl(raw: string | null | undefined, base: string, protocols: ReadonlySet<string>): string | undefined {
  const value = raw?.trim();
  if (!value) return undefined;
  try {
    const url = new URL(value, base);
    return protocols.has(url.protocol) ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/** The sanitized block sequence of a container element. */
export function sanitizeBlocks(root: DomNode, baseUrl: string): SafeElement[] {
  const out: SafeElement[] = [];
  collectBlocks(root, baseUrl, out, 0);
  return out;
}

/** Nesting below this is flattened to its text, so hostile pages cannot exhaust the stack. */
const MAX_DEPTH = 200;

function tagOf(node: DomNode): string {
  return (node.localName ?? '').toLowerCase();
}

function collectBlocks(container: DomNode, base: string, out: SafeElement[], depth: number): void {
  if (depth > MAX_DEPTH) {
    const p = paragraph([collapse(container.textContent ?? '')]);
    if (p) out.push(p);
    return;
  }
  let run: SafeNode[] = [];
  const flush = () => {
    const p = paragraph(run);
    if (p) out.push(p);
    run = [];
  };
  for (const child of Array.from(container.childNodes)) {
    if (child.nodeType === TEXT || child.nodeType === CDATA) {
      run.push(collapse(child.nodeValue ?? ''));
      continue;
    }
    if (child.nodeType !== ELEMENT) continue;
    const tag = tagOf(child);
    if (DROP.has(tag)) continue;
    if (INLINE.has(tag)) {
      append(run, inline(child, base, depth + 1));
      continue;
    }
    flush();
    const block = blockOf(child, tag, base, depth + 1);
    if (block === 'container') collectBlocks(child, base, out, depth + 1);
    else if (block) out.push(block);
  }
  flush();
}

function blockOf(node: DomNode, tag: string, base: string, depth: number): SafeElement | null | 'container' {
  if (depth > MAX_DEPTH) return paragraph([collapse(node.textContent ?? '')]);
  if (HEADINGS.has(tag)) {
    const children = trimInline(inlineChildren(node, base, depth));
    return hasContent(children) ? { tag: tag as BlockTag, children } : null;
  }
  switch (tag) {
    case 'p':
      return paragraph(inlineChildren(node, base, depth));
    case 'ul':
    case 'ol': {
      const items = listItems(node, base, depth);
      if (!items.length) return null;
      const start = Number(node.getAttribute?.('start') ?? 1);
      return {
        tag,
        children: items,
        ...(tag === 'ol' && Number.isInteger(start) && start !== 1 ? { attrs: { start: String(start) } } : {}),
      };
    }
    case 'pre': {
      // trimEnd, not /\s+$/: the regex retries from every space of a long run that is not at the end (quadratic).
      const raw = node.textContent ?? '';
      const text = (raw.startsWith('\n') ? raw.slice(1) : raw).trimEnd();
      return text ? { tag: 'pre', children: [{ tag: 'code', children: [text] }] } : null;
    }
    case 'blockquote': {
      const inner: SafeElement[] = [];
      collectBlocks(node, base, inner, depth);
      return inner.length ? { tag: 'blockquote', children: inner } : null;
    }
    case 'hr':
      return { tag: 'hr', children: [] };
    case 'table': {
      const rows = tableRows(node, base, depth);
      return rows.length ? { tag: 'table', children: rows } : null;
    }
    default:
      return 'container';
  }
}

function listItems(list: DomNode, base: string, depth: number): SafeElement[] {
  const items: SafeElement[] = [];
  for (const child of Array.from(list.childNodes)) {
    if (child.nodeType !== ELEMENT) continue;
    const tag = tagOf(child);
    if (tag !== 'li') {
      if (tag === 'ul' || tag === 'ol') {
        // A list nested directly in a list: attach it to the previous item.
        const nested = blockOf(child, tag, base, depth + 1);
        if (nested && nested !== 'container') items.at(-1)?.children.push(nested);
      }
      continue;
    }
    const children: SafeNode[] = [];
    let text: SafeNode[] = [];
    const flushText = () => {
      const trimmed = trimInline(text);
      if (hasContent(trimmed)) {
        if (children.length) children.push(' ');
        append(children, trimmed);
      }
      text = [];
    };
    for (const part of Array.from(child.childNodes)) {
      const partTag = part.nodeType === ELEMENT ? tagOf(part) : '';
      if (partTag === 'ul' || partTag === 'ol') {
        flushText();
        const nested = blockOf(part, partTag, base, depth + 2);
        if (nested && nested !== 'container') children.push(nested);
      } else if (part.nodeType === ELEMENT && DROP.has(partTag)) {
        continue;
      } else if (part.nodeType === ELEMENT) {
        append(text, inline(part, base, depth + 2));
      } else if (part.nodeType === TEXT || part.nodeType === CDATA) {
        text.push(collapse(part.nodeValue ?? ''));
      }
    }
    flushText();
    if (children.length) items.push({ tag: 'li', children });
  }
  return items;
}

function tableRows(table: DomNode, base: string, depth: number): SafeElement[] {
  const rows: SafeElement[] = [];
  const visit = (node: DomNode, level: number) => {
    if (level > MAX_DEPTH) return;
    for (const child of Array.from(node.childNodes)) {
      if (child.nodeType !== ELEMENT) continue;
      const tag = tagOf(child);
      if (tag === 'tr') {
        const cells: SafeElement[] = [];
        for (const cell of Array.from(child.childNodes)) {
          const cellTag = cell.nodeType === ELEMENT ? tagOf(cell) : '';
          if (cellTag === 'td' || cellTag === 'th')
            cells.push({ tag: cellTag, children: trimInline(inlineChildren(cell, base, level + 2)) });
        }
        if (cells.length) rows.push({ tag: 'tr', children: cells });
      } else if (tag === 'thead' || tag === 'tbody' || tag === 'tfoot') {
        visit(child, level + 1);
      }
    }
  };
  visit(table, depth);
  return rows;
}

function inlineChildren(node: DomNode, base: string, depth: number): SafeNode[] {
  if (depth > MAX_DEPTH) return [collapse(node.textContent ?? '')];
  const out: SafeNode[] = [];
  for (const child of Array.from(node.childNodes)) {
    if (child.nodeType === TEXT || child.nodeType === CDATA) out.push(collapse(child.nodeValue ?? ''));
    else if (child.nodeType === ELEMENT) append(out, inline(child, base, depth + 1));
  }
  return out;
}

/** One element in inline context; unknown or unsafe wrappers are unwrapped to their content. */
function inline(node: DomNode, base: string, depth: number): SafeNode[] {
  const tag = tagOf(node);
  if (DROP.has(tag)) return [];
  if (tag === 'br') return [{ tag: 'br', children: [] }];
  if (tag === 'img') {
    const src = safeUrl(node.getAttribute?.('src'), base, IMAGE_PROTOCOLS);
    const alt = collapse(node.getAttribute?.('alt') ?? '').trim();
    if (!src) return alt ? [alt] : [];
    return [{ tag: 'img', attrs: { src, alt }, children: [] }];
  }
  const children = inlineChildren(node, base, depth);
  if (tag === 'a') {
    const href = safeUrl(node.getAttribute?.('href'), base, LINK_PROTOCOLS);
    return href && hasContent(children) ? [{ tag: 'a', attrs: { href }, children }] : children;
  }
  const renamed = INLINE_RENAME[tag];
  if (renamed && hasContent(children)) return [{ tag: renamed, children }];
  // Block elements met in inline context keep a word boundary.
  return INLINE.has(tag) ? children : [' ', ...children, ' '];
}

function paragraph(run: SafeNode[]): SafeElement | null {
  const children = trimInline(run);
  return hasContent(children) ? { tag: 'p', children } : null;
}

/** push(...items) passes every item as an argument and overflows the stack past ~100,000 of them. */
function append(target: SafeNode[], items: SafeNode[]): void {
  for (const item of items) target.push(item);
}

function collapse(text: string): string {
  return text.replace(/\s+/g, ' ');
}

/** Merges adjacent strings, collapses doubled spaces and trims both ends. */
function trimInline(nodes: SafeNode[]): SafeNode[] {
  // Runs of adjacent strings are joined once each: joining them one by one re-scans the
  // growing string per piece (quadratic on a paragraph of 100,000 tiny spans).
  const merged: SafeNode[] = [];
  let run: string[] = [];
  const flush = () => {
    if (run.length) merged.push(run.length === 1 ? run[0] : run.join('').replace(/ {2,}/g, ' '));
    run = [];
  };
  for (const n of nodes) {
    if (typeof n === 'string') run.push(n);
    else {
      flush();
      merged.push(n);
    }
  }
  flush();
  // Leading/trailing whitespace and <br>s carry no content.
  while (merged.length && (isBlank(merged[0]) || isBr(merged[0]))) merged.shift();
  while (merged.length && (isBlank(merged.at(-1)!) || isBr(merged.at(-1)!))) merged.pop();
  if (typeof merged[0] === 'string') merged[0] = merged[0].trimStart();
  const lastIndex = merged.length - 1;
  if (typeof merged[lastIndex] === 'string') merged[lastIndex] = (merged[lastIndex] as string).trimEnd();
  return merged;
}

function isBlank(n: SafeNode): boolean {
  return typeof n === 'string' && !n.trim();
}
function isBr(n: SafeNode): boolean {
  return typeof n !== 'string' && n.tag === 'br';
}

/** True when there is visible text or an image somewhere inside. */
export function hasContent(nodes: SafeNode[]): boolean {
  return nodes.some((n) => (typeof n === 'string' ? n.trim() !== '' : n.tag === 'img' || n.tag === 'hr' || hasContent(n.children)));
}

/** Plain text of a tree (for titles and checks). */
export function textOf(nodes: SafeNode[]): string {
  return nodes.map((n) => (typeof n === 'string' ? n : n.tag === 'img' ? (n.attrs?.alt ?? '') : textOf(n.children))).join('');
}

/** Renders inline nodes in one output format: text through `text`, each element through `element`, which renders its own children with `inner()`. */
export function renderInline(
  nodes: SafeNode[],
  text: (s: string) => string,
  element: (n: SafeElement, inner: () => string) => string,
): string {
  let out = '';
  for (const n of nodes) out += typeof n === 'string' ? text(n) : element(n, () => renderInline(n.children, text, element));
  return out;
}
