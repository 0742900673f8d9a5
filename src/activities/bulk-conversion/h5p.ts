import { randomUUID } from 'node:crypto';
import type { ExtractedArticle } from './extract';
import { textOf, type SafeElement, type SafeNode } from './sanitize';
import { buildZip } from './zip-writer';

// An .h5p package is a zip with h5p.json (package metadata and the libraries it needs)
// and content/content.json (the main library's parameters). The article becomes an
// H5P.Column of H5P.AdvancedText blocks, one per top-level section. The libraries
// themselves are not bundled: H5P hosts install them from the H5P Hub on upload.

export const H5P_MAIN_LIBRARY = { machineName: 'H5P.Column', majorVersion: 1, minorVersion: 16 } as const;
export const H5P_TEXT_LIBRARY = { machineName: 'H5P.AdvancedText', majorVersion: 1, minorVersion: 1 } as const;

export interface H5pLibraryRef {
  machineName: string;
  majorVersion: number;
  minorVersion: number;
}

export interface H5pJson {
  title: string;
  language: string;
  mainLibrary: string;
  embedTypes: ('div' | 'iframe')[];
  license: string;
  defaultLanguage: string;
  source: string;
  preloadedDependencies: H5pLibraryRef[];
}

export interface AdvancedTextBlock {
  content: {
    library: string;
    params: { text: string };
    subContentId: string;
    metadata: { contentType: string; license: string; title: string };
  };
  useSeparator: 'auto' | 'enabled' | 'disabled';
}

export interface ColumnContent {
  content: AdvancedTextBlock[];
}

export function h5pJsonFor(article: ExtractedArticle): H5pJson {
  return {
    title: article.title,
    language: article.language,
    mainLibrary: H5P_MAIN_LIBRARY.machineName,
    embedTypes: ['div'],
    license: 'U',
    // The language H5P's own UI strings use; only the primary subtag is meaningful there.
    defaultLanguage: article.language === 'und' ? 'en' : article.language.split('-')[0].toLowerCase(),
    source: article.sourceUrl,
    preloadedDependencies: [{ ...H5P_MAIN_LIBRARY }, { ...H5P_TEXT_LIBRARY }],
  };
}

export function columnContentFor(article: ExtractedArticle): ColumnContent {
  const library = `${H5P_TEXT_LIBRARY.machineName} ${H5P_TEXT_LIBRARY.majorVersion}.${H5P_TEXT_LIBRARY.minorVersion}`;
  return {
    content: sections(article.blocks).map((section, i) => ({
      content: {
        library,
        params: { text: section.map(blockHtml).join('') },
        subContentId: randomUUID(),
        metadata: { contentType: 'Text', license: 'U', title: `Section ${i + 1}` },
      },
      useSeparator: 'auto',
    })),
  };
}

/** The zipped package. Small JSON files, so the zip is built in memory, synchronously. */
export function buildH5pPackage(article: ExtractedArticle): Buffer {
  return buildZip([
    { name: 'h5p.json', data: JSON.stringify(h5pJsonFor(article)) },
    { name: 'content/content.json', data: JSON.stringify(columnContentFor(article)) },
  ]);
}

/** Splits blocks before every heading of the highest level present, so each section becomes one text block. */
export function sections(blocks: SafeElement[]): SafeElement[][] {
  const levels = blocks.filter((b) => /^h[1-6]$/.test(b.tag)).map((b) => Number(b.tag[1]));
  const top = levels.length ? Math.min(...levels) : 0;
  const out: SafeElement[][] = [];
  for (const block of blocks) {
    const startsSection = top > 0 && block.tag === `h${top}`;
    if (!out.length || (startsSection && out.at(-1)!.length > 0)) out.push([]);
    out.at(-1)!.push(block);
  }
  return out.filter((s) => s.length > 0);
}

// AdvancedText allows p, headings h2-h6, lists, pre/code, hr, a, strong, em, del and br;
// other safe tags are mapped onto those so H5P's own filter keeps them.
function blockHtml(block: SafeElement): string {
  switch (block.tag) {
    case 'h1':
      return `<h2>${inlineHtml(block.children)}</h2>`;
    case 'h2':
    case 'h3':
    case 'h4':
    case 'h5':
    case 'h6':
    case 'p':
      return `<${block.tag}>${inlineHtml(block.children)}</${block.tag}>`;
    case 'ul':
    case 'ol': {
      const start = block.attrs?.start ? ` start="${escapeAttr(block.attrs.start)}"` : '';
      const items = block.children.map((li) => (typeof li === 'string' ? '' : `<li>${li.children.map((c) => (typeof c !== 'string' && (c.tag === 'ul' || c.tag === 'ol') ? blockHtml(c) : inlineHtml([c]))).join('')}</li>`));
      return `<${block.tag}${block.tag === 'ol' ? start : ''}>${items.join('')}</${block.tag}>`;
    }
    case 'pre':
      return `<pre><code>${escapeText(textOf(block.children))}</code></pre>`;
    case 'hr':
      return '<hr>';
    case 'blockquote':
      return block.children.map((c) => (typeof c === 'string' ? `<p>${escapeText(c)}</p>` : blockHtml(c))).join('');
    case 'table':
      return block.children
        .map((row) => {
          if (typeof row === 'string') return '';
          const cells = row.children.map((c) => (typeof c === 'string' ? escapeText(c) : c.tag === 'th' ? `<strong>${inlineHtml(c.children)}</strong>` : inlineHtml(c.children)));
          return `<p>${cells.join(' | ')}</p>`;
        })
        .join('');
    default:
      return `<p>${inlineHtml(block.children)}</p>`;
  }
}

function inlineHtml(nodes: SafeNode[]): string {
  let out = '';
  for (const n of nodes) {
    if (typeof n === 'string') {
      out += escapeText(n);
      continue;
    }
    switch (n.tag) {
      case 'br':
        out += '<br>';
        break;
      case 'img':
        // AdvancedText has no images: keep a link to it so nothing silently disappears.
        out += `<a href="${escapeAttr(n.attrs?.src ?? '')}">${escapeText(n.attrs?.alt || 'Image')}</a>`;
        break;
      case 'a':
        out += `<a href="${escapeAttr(n.attrs?.href ?? '')}">${inlineHtml(n.children)}</a>`;
        break;
      case 'strong':
      case 'em':
      case 'code':
      case 'del':
        out += `<${n.tag}>${inlineHtml(n.children)}</${n.tag}>`;
        break;
      default:
        out += inlineHtml(n.children);
    }
  }
  return out;
}

function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function escapeAttr(text: string): string {
  return escapeText(text).replace(/"/g, '&quot;');
}
