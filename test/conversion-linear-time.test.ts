import { ContentTooComplexError, extractArticle, nestingExceeds } from '../src/activities/bulk-conversion/extract';
import { toMarkdown } from '../src/activities/bulk-conversion/markdown';
import type { ExtractedArticle } from '../src/activities/bulk-conversion/extract';

// Page content that made the converter's regexes backtrack quadratically. Each input is
// sized so the old code took tens of seconds; the linear code takes milliseconds. The
// budgets are far above normal (even on a loaded machine) and far below the blow-up.

const PAGE_URL = 'https://pages.example/hostile.html';
const page = (body: string) => `<!DOCTYPE html><html lang="en"><head><title>Hostile</title></head><body>${body}</body></html>`;

function timed<T>(fn: () => T): { value: T; ms: number } {
  const started = performance.now();
  const value = fn();
  return { value, ms: performance.now() - started };
}

describe('linear-time conversion of hostile markup', () => {
  test('tags that never close (300 KB of "<a "): the nesting scan reads them once (was ~40 s)', () => {
    const html = page(`<p>Some text.</p>${'<a '.repeat(100_000)}`);
    const { value, ms } = timed(() => nestingExceeds(html, 1000));
    expect(value).toBe(false);
    expect(ms).toBeLessThan(1000);
  });

  test('the nesting scan still counts real nesting, closing tags and self-closing tags', () => {
    expect(nestingExceeds(`${'<div>'.repeat(5)}${'</div>'.repeat(5)}`, 4)).toBe(true);
    expect(nestingExceeds(`${'<div><br/><img src=x><p>'.repeat(4)}${'</div>'.repeat(4)}`, 4)).toBe(false);
    expect(nestingExceeds(`${'<div></div>'.repeat(10_000)}`, 1)).toBe(false);
    expect(nestingExceeds(`${'<x-el/>'.repeat(10)}<a><b><c>`, 2)).toBe(true);
  });

  test('100,000 nested <div>s are refused as too complex, quickly', () => {
    const html = page(`${'<div>'.repeat(100_000)}deep${'</div>'.repeat(100_000)}`);
    const { value, ms } = timed(() => {
      try {
        extractArticle(html, PAGE_URL);
        return undefined;
      } catch (e) {
        return e;
      }
    });
    expect(value).toBeInstanceOf(ContentTooComplexError);
    expect(ms).toBeLessThan(1000);
  });

  test('a <pre> with a 200,000-space run converts (the trailing-space trim was ~50 s)', () => {
    const html = page(`<pre>start${' '.repeat(200_000)}end\n  </pre><p>After the code.</p>`);
    const { value, ms } = timed(() => extractArticle(html, PAGE_URL));
    expect(value.blocks[0]).toEqual({ tag: 'pre', children: [{ tag: 'code', children: [`start${' '.repeat(200_000)}end`] }] });
    expect(ms).toBeLessThan(2000);
  });

  test('emphasis around a 200,000-space run renders in Markdown (the lazy trim regex was quadratic)', () => {
    const text = `  bold${' '.repeat(200_000)}words `;
    const article: ExtractedArticle = {
      title: 'T',
      language: 'en',
      sourceUrl: PAGE_URL,
      blocks: [{ tag: 'p', children: [{ tag: 'strong', children: [text] }] }],
    };
    const { value, ms } = timed(() => toMarkdown(article));
    expect(value).toContain(`  **bold${' '.repeat(200_000)}words** `);
    expect(ms).toBeLessThan(1000);
    // Text that is only spaces stays unwrapped.
    const blank: ExtractedArticle = { ...article, blocks: [{ tag: 'p', children: ['x', { tag: 'em', children: ['   '] }] }] };
    expect(toMarkdown(blank)).not.toContain('_');
  });

  test('a paragraph of 100,000 inline elements merges its text once (pairwise merging re-scanned the growing string)', () => {
    const html = page(`<p>${'<span>w </span>'.repeat(100_000)}</p>`);
    const { value, ms } = timed(() => extractArticle(html, PAGE_URL));
    expect(value.blocks).toHaveLength(1);
    expect(value.blocks[0].children).toEqual([`${'w '.repeat(99_999)}w`]);
    expect(ms).toBeLessThan(10_000);
  });
});
