import type { ExtractedArticle } from './extract';
import { renderInline, textOf, type SafeElement, type SafeNode } from './sanitize';

// Markdown (CommonMark + GFM tables) from the sanitized tree: `# Title` first, then the
// article. Text is escaped so page content cannot smuggle in markup of its own.

export function toMarkdown(article: ExtractedArticle): string {
  const parts = [`# ${escapeText(article.title)}`, `Source: <${article.sourceUrl}>`];
  for (const block of article.blocks) {
    const md = blockMarkdown(block, '');
    if (md) parts.push(md);
  }
  return `${parts.join('\n\n')}\n`;
}

function blockMarkdown(block: SafeElement, indent: string): string {
  switch (block.tag) {
    case 'h1':
    case 'h2':
    case 'h3':
    case 'h4':
    case 'h5':
    case 'h6': {
      // The title is the only level-1 heading; the article's own headings start at 2.
      const level = Math.max(2, Number(block.tag[1]));
      return `${'#'.repeat(level)} ${inlineMarkdown(block.children).replace(/\n/g, ' ')}`;
    }
    case 'p':
      return inlineMarkdown(block.children);
    case 'ul':
    case 'ol':
      return listMarkdown(block, indent);
    case 'pre': {
      const code = textOf(block.children);
      const fence = '`'.repeat(Math.max(3, longestRun(code, '`') + 1));
      return `${fence}\n${code}\n${fence}`;
    }
    case 'blockquote':
      return block.children
        .map((b) => (typeof b === 'string' ? escapeText(b) : blockMarkdown(b, '')))
        .filter(Boolean)
        .join('\n\n')
        .split('\n')
        .map((line) => (line ? `> ${line}` : '>'))
        .join('\n');
    case 'hr':
      return '---';
    case 'table':
      return tableMarkdown(block);
    default:
      return inlineMarkdown(block.children);
  }
}

function listMarkdown(list: SafeElement, indent: string): string {
  const start = Number(list.attrs?.start ?? 1);
  return list.children
    .map((item, i) => {
      if (typeof item === 'string') return '';
      const marker = list.tag === 'ol' ? `${start + i}. ` : '- ';
      const inner = indent + ' '.repeat(marker.length);
      const text: SafeNode[] = [];
      const nested: string[] = [];
      for (const child of item.children) {
        if (typeof child !== 'string' && (child.tag === 'ul' || child.tag === 'ol')) nested.push(listMarkdown(child, inner));
        else text.push(child);
      }
      const line = `${indent}${marker}${inlineMarkdown(text).replace(/\n/g, `\n${inner}`)}`;
      return [line, ...nested].join('\n');
    })
    .filter(Boolean)
    .join('\n');
}

function tableMarkdown(table: SafeElement): string {
  const rows = table.children.filter((r): r is SafeElement => typeof r !== 'string');
  const cells = rows.map((r) => r.children.map((c) => (typeof c === 'string' ? c : inlineMarkdown(c.children).replace(/\n/g, ' '))));
  const width = Math.max(...cells.map((r) => r.length));
  const line = (r: string[]) => `| ${Array.from({ length: width }, (_, i) => r[i] ?? '').join(' | ')} |`;
  return [line(cells[0]), `|${' --- |'.repeat(width)}`, ...cells.slice(1).map(line)].join('\n');
}

function inlineMarkdown(nodes: SafeNode[]): string {
  return renderInline(nodes, escapeText, elementMarkdown);
}

function elementMarkdown(n: SafeElement, inner: () => string): string {
  switch (n.tag) {
    case 'br':
      return '\\\n';
    case 'img':
      return `![${escapeText(n.attrs?.alt ?? '')}](${destination(n.attrs?.src ?? '')})`;
    case 'a':
      return `[${inner()}](${destination(n.attrs?.href ?? '')})`;
    case 'code': {
      const code = textOf(n.children);
      const ticks = '`'.repeat(longestRun(code, '`') + 1);
      const pad = code.startsWith('`') || code.endsWith('`') ? ' ' : '';
      return `${ticks}${pad}${code}${pad}${ticks}`;
    }
    case 'strong':
      return wrap(inner(), '**');
    case 'em':
      return wrap(inner(), '_');
    case 'del':
      return wrap(inner(), '~~');
    default:
      return inner();
  }
}

/** Emphasis markers must hug the text, so surrounding spaces move outside them. */
function wrap(text: string, marker: string): string {
  // trimStart/trimEnd, not a regex: a lazy middle before /\s*$/ backtracks quadratically on long space runs.
  const core = text.trim();
  if (!core) return text;
  const lead = text.length - text.trimStart().length;
  return `${text.slice(0, lead)}${marker}${core}${marker}${text.slice(lead + core.length)}`;
}

function destination(url: string): string {
  return /[\s()<>]/.test(url) ? `<${url.replace(/[<>]/g, encodeURIComponent)}>` : url;
}

function escapeText(text: string): string {
  return text
    .replace(/[\\`*_[\]<>|~]/g, '\\$&')
    .replace(/&(?=#?\w+;)/g, '\\&')
    .replace(/^(\s*)([#+-]|\d+[.)])(?=\s|$)/, '$1\\$2');
}

function longestRun(text: string, ch: string): number {
  let best = 0;
  let run = 0;
  for (const c of text) {
    run = c === ch ? run + 1 : 0;
    best = Math.max(best, run);
  }
  return best;
}
