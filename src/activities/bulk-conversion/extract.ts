import { Readability } from '@mozilla/readability';
import { parseHTML } from 'linkedom';
import { DomNode, hasContent, safeUrl, sanitizeBlocks, SafeElement, textOf } from './sanitize';

// Main-content extraction on a linkedom document. A page that declares its main content
// (one <article>, or one <main>/[role=main], holding most of the page's text) is taken
// as declared; otherwise Readability finds it, and when Readability finds nothing the
// whole <body> is used. The allow-list sanitizer then runs on the chosen element. The
// declared-content path exists for speed: Readability costs ~1-2 ms a page, parsing
// ~0.1-0.2 ms, and bulk jobs convert thousands of pages a second.
// Title and language are read first because Readability rewrites the document.

export interface ExtractedArticle {
  /** The page's <title>, else its first heading, else its URL. */
  title: string;
  /** BCP 47 tag from <html lang>, or 'und'. */
  language: string;
  /** Where the page came from (after redirects); links are absolute against it. */
  sourceUrl: string;
  blocks: SafeElement[];
}

/** Thrown when a page has no text to convert. */
export class UnparseableContentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnparseableContentError';
  }
}

/** Thrown when a page's markup is refused before parsing because it would cost far more than any real page. */
export class ContentTooComplexError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContentTooComplexError';
  }
}

type DomElement = DomNode & { getAttribute(name: string): string | null };

// Single-tag lookups use getElementsByTagName: linkedom compiles a CSS selector on every
// querySelector call (~5-10 µs each, several per page in a bulk job).
interface ParsedDocument {
  body?: DomNode | null;
  documentElement?: DomElement | null;
  getElementsByTagName(tag: string): ArrayLike<DomElement>;
  querySelector(selector: string): DomElement | null;
  querySelectorAll(selector: string): ArrayLike<DomElement>;
}

// The parser's cost grows with the square of nesting depth (100,000 nested divs, 1 MB:
// ~7 s of blocked event loop), so absurdly deep markup is refused before parsing. Real
// pages stay far below this.
const MAX_NESTING = 1000;
// Never nest (void) or are routinely left unclosed, so they are not counted.
const UNCOUNTED = new Set([
  'area',
  'base',
  'br',
  'col',
  'embed',
  'hr',
  'img',
  'input',
  'link',
  'meta',
  'param',
  'source',
  'track',
  'wbr',
  'p',
  'li',
  'dt',
  'dd',
  'tr',
  'td',
  'th',
  'thead',
  'tbody',
  'tfoot',
  'option',
  'optgroup',
  'colgroup',
  'rb',
  'rt',
  'rp',
]);

/**
 * Approximate element nesting depth from the markup alone; true once it passes `limit`.
 * A hand-written scan rather than a regex: it reads each character at most twice, where a
 * tag regex backtracks quadratically on tags that never close (300 KB of `<a `: ~40 s).
 */
export function nestingExceeds(html: string, limit: number): boolean {
  let depth = 0;
  for (let lt = html.indexOf('<'); lt >= 0;) {
    const closing = html.charCodeAt(lt + 1) === SLASH;
    const nameStart = lt + (closing ? 2 : 1);
    let nameEnd = nameStart;
    if (isAsciiLetter(html.charCodeAt(nameEnd))) {
      do nameEnd++;
      while (isTagNameChar(html.charCodeAt(nameEnd)));
    }
    if (nameEnd === nameStart) {
      lt = html.indexOf('<', lt + 1);
      continue;
    }
    const gt = html.indexOf('>', nameEnd);
    if (gt < 0) return false; // no tag closes after this point
    const name = html.slice(nameStart, nameEnd).toLowerCase();
    if (!UNCOUNTED.has(name)) {
      if (closing) depth = Math.max(0, depth - 1);
      else if (html.charCodeAt(gt - 1) !== SLASH && ++depth > limit) return true;
    }
    lt = html.indexOf('<', gt + 1);
  }
  return false;
}

const SLASH = 0x2f;
const isAsciiLetter = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const isTagNameChar = (c: number) => isAsciiLetter(c) || (c >= 0x30 && c <= 0x39) || c === 0x2d;

function parseDocument(html: string): ParsedDocument {
  return parseHTML(html).document as ParsedDocument;
}

export function extractArticle(html: string, pageUrl: string): ExtractedArticle {
  if (nestingExceeds(html, MAX_NESTING))
    throw new ContentTooComplexError(`the page at ${pageUrl} is too complex to convert: it nests elements more than ${MAX_NESTING} deep`);
  const document = parseDocument(html);
  const title = pageTitle(document) || pageUrl;
  const language = pageLanguage(document);
  const base = safeUrl(baseHref(document), pageUrl, new Set(['http:', 'https:'])) ?? pageUrl;

  let blocks: SafeElement[] = [];
  let article = declaredMainContent(document);
  let rewritten = false;
  if (!article && withinReadabilityBudget(document.body)) {
    article = readArticle(document);
    rewritten = true;
  }
  if (article) blocks = sanitizeBlocks(article, base);
  if (!blocks.some((b) => hasContent([b]))) {
    // No article found (or Readability skipped or kept nothing usable): convert the whole
    // <body>, from a fresh parse if Readability has rewritten the document.
    const body = (rewritten ? parseDocument(html) : document).body;
    blocks = body ? sanitizeBlocks(body, base) : [];
  }
  // A leading heading that repeats the title would show twice (H5P and Markdown both print the title).
  if (/^h[1-6]$/.test(blocks[0]?.tag ?? '') && sameText(textOf(blocks[0].children), title)) blocks = blocks.slice(1);
  if (!blocks.length) throw new UnparseableContentError(`no readable text found at ${pageUrl}`);
  return { title, language, sourceUrl: pageUrl, blocks };
}

/** The page's own <article> or <main>, when there is exactly one and it holds most of the text. */
function declaredMainContent(document: ParsedDocument): DomNode | null {
  const bodyText = textLength(document.body);
  for (const find of [() => document.getElementsByTagName('article'), () => document.querySelectorAll('main, [role="main"]')]) {
    const found = find();
    if (found.length !== 1) continue;
    const text = textLength(found[0]);
    if (text > 0 && text >= bodyText * 0.5) return found[0];
  }
  return null;
}

function textLength(node: DomNode | null | undefined): number {
  return (node?.textContent ?? '').replace(/\s+/g, '').length;
}

// Readability costs ~70 µs per element on linkedom (a typical 2,000-element page: ~150 ms)
// and grows much faster with nesting depth (1,000 nested divs: seconds). Past these
// limits the body is converted instead, in time linear in the page.
const READABILITY_MAX_ELEMENTS = 5000;
const READABILITY_MAX_DEPTH = 80;

function withinReadabilityBudget(body: DomNode | null | undefined): boolean {
  if (!body) return false;
  let elements = 0;
  const stack: [DomNode, number][] = [[body, 0]];
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (++elements > READABILITY_MAX_ELEMENTS || depth > READABILITY_MAX_DEPTH) return false;
    const children = node.childNodes;
    for (let i = 0; i < children.length; i++) if (children[i].nodeType === 1) stack.push([children[i], depth + 1]);
  }
  return true;
}

function readArticle(document: ParsedDocument): DomNode | null {
  try {
    // The serializer hands back the article element itself, saving a serialize + re-parse.
    const result = new Readability<DomNode>(document as never, {
      serializer: (node) => node as unknown as DomNode,
      charThreshold: 200,
    }).parse();
    return result?.content ?? null;
  } catch {
    return null; // malformed trees can trip Readability; the <body> fallback still works
  }
}

function sameText(a: string, b: string): boolean {
  return cleanText(a).toLowerCase() === cleanText(b).toLowerCase();
}

function cleanText(text: string | null | undefined): string {
  return (text ?? '').replace(/\s+/g, ' ').trim();
}

function pageTitle(document: ParsedDocument): string {
  const title = cleanText(document.getElementsByTagName('title')[0]?.textContent);
  if (title) return title.slice(0, 255);
  const heading = cleanText(document.querySelector('h1, h2, h3, h4, h5, h6')?.textContent);
  return heading.slice(0, 255);
}

/** The first <base href>, as written. */
function baseHref(document: ParsedDocument): string | undefined {
  const bases = document.getElementsByTagName('base');
  for (let i = 0; i < bases.length; i++) {
    const href = bases[i].getAttribute('href');
    if (href !== null) return href;
  }
  return undefined;
}

function pageLanguage(document: ParsedDocument): string {
  const lang = document.documentElement?.getAttribute('lang')?.trim() ?? '';
  return /^[a-z]{2,3}(-[a-z0-9]{1,8})*$/i.test(lang) ? lang : 'und';
}
