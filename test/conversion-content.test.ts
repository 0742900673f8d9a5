import { extractArticle } from '../src/activities/bulk-conversion/extract';
import { buildH5pPackage, columnContentFor, h5pJsonFor } from '../src/activities/bulk-conversion/h5p';
import { toMarkdown } from '../src/activities/bulk-conversion/markdown';
import { charsetOf } from '../src/net/fetch-html';
import { parseRetryAfter } from '../src/net/retry-after';
import JSZip from 'jszip';

// Extraction, sanitizing and the two writers on hand-written pages (no network).

const PAGE_URL = 'https://pages.example/course/lesson.html';

function page(body: string, head = '<title>Lesson</title>', htmlAttrs = 'lang="en"'): string {
  return `<!DOCTYPE html><html ${htmlAttrs}><head><meta charset="utf-8">${head}</head><body>${body}</body></html>`;
}

function h5pText(html: string): string {
  return columnContentFor(extractArticle(html, PAGE_URL))
    .content.map((c) => c.content.params.text)
    .join('\n');
}

const prose = (topic: string) =>
  `<p>${topic} is explained in this paragraph at some length, so that the content extractor has enough text to recognise it as the main article of the page rather than navigation or boilerplate. ${topic} matters for every learner, and the lesson goes into detail with examples, comparisons and a short summary at the end.</p>`;

describe('main-content extraction', () => {
  test('Readability picks the article out of a page without <article>/<main> markup', () => {
    const html = page(`
      <div id="header"><a href="/">Site</a> <a href="/login">Log in</a></div>
      <div class="sidebar"><h3>Related posts</h3><ul><li><a href="/a">Buy now</a></li><li><a href="/b">Sponsored</a></li></ul></div>
      <div class="content post-body"><h2>Photosynthesis</h2>${prose('Photosynthesis')}${prose('Chlorophyll')}${prose('Light reactions')}</div>
      <div class="comments"><p>Nice! 1 like</p></div>`);
    const article = extractArticle(html, PAGE_URL);
    const md = toMarkdown(article);
    expect(md).toContain('Chlorophyll is explained');
    expect(md).toContain('Light reactions is explained');
    expect(md).not.toContain('Sponsored');
    expect(md).not.toContain('Log in');
  });

  test('a page that declares its <article> is taken as declared; a leading heading equal to the title is not repeated', () => {
    const html = page(
      `<nav><a href="/">Home</a></nav><article><h1>Lesson</h1><p>Short but declared content.</p></article><footer>footer</footer>`,
    );
    const article = extractArticle(html, PAGE_URL);
    expect(article.title).toBe('Lesson');
    expect(toMarkdown(article)).toBe(`# Lesson\n\nSource: <${PAGE_URL}>\n\nShort but declared content.\n`);
  });

  test('language comes from <html lang>; missing or malformed becomes und', () => {
    expect(extractArticle(page('<p>text</p>', '<title>t</title>', 'lang="pt-BR"'), PAGE_URL).language).toBe('pt-BR');
    expect(extractArticle(page('<p>text</p>', '<title>t</title>', ''), PAGE_URL).language).toBe('und');
    expect(extractArticle(page('<p>text</p>', '<title>t</title>', 'lang="<script>"'), PAGE_URL).language).toBe('und');
    expect(h5pJsonFor(extractArticle(page('<p>text</p>', '<title>t</title>', 'lang="pt-BR"'), PAGE_URL)).defaultLanguage).toBe('pt');
  });

  test('absurdly deep nesting is refused before parsing; deep but plausible nesting still converts', () => {
    const nested = (depth: number, open: string, close: string) =>
      page(`<article>${open.repeat(depth)}deep words${close.repeat(depth)}<p>after</p></article>`);
    expect(() => extractArticle(nested(5000, '<div>', '</div>'), PAGE_URL)).toThrow(/nests elements more than 1000 deep/);
    expect(() => extractArticle(nested(1500, '<b>', '</b>'), PAGE_URL)).toThrow(/nests elements more than 1000 deep/);
    // Past the sanitizer's own depth limit (200) the subtree is kept as plain text.
    expect(toMarkdown(extractArticle(nested(450, '<span><em>', '</em></span>'), PAGE_URL))).toMatch(/deep words[\s\S]*after/);
    expect(toMarkdown(extractArticle(nested(600, '<ul><li>', '</li></ul>'), PAGE_URL))).toMatch(/deep words[\s\S]*after/);
    // Too deep for Readability but fine for the parser: the whole body is converted.
    const soup = page(`${'<div>'.repeat(300)}${prose('Nesting')}${'</div>'.repeat(300)}`);
    expect(toMarkdown(extractArticle(soup, PAGE_URL))).toContain('Nesting is explained');
  });

  test('whitespace in titles is collapsed', () => {
    expect(extractArticle(page('<p>x</p>', '<title>\n  A   spaced\n title </title>'), PAGE_URL).title).toBe('A spaced title');
  });
});

describe('sanitizing', () => {
  const hostile = page(`<article>
    <h2 onclick="x()">Heading</h2>
    <p style="color:red" onmouseover="steal()">Para with <a href="JaVaScRiPt:alert(1)">mixed case</a>,
      <a href="  javascript:alert(2)">leading space</a>, <a href="java&#x09;script:alert(3)">tab entity</a>,
      <a href="vbscript:msgbox(4)">vbscript</a>, <a href="data:text/html;base64,PHNjcmlwdD4=">data link</a>,
      <a href="mailto:teacher@school.example">mail</a> and <a href="#part-2">an anchor</a>.</p>
    <img src="data:image/png;base64,iVBORw0KGgo=" alt="inline data image">
    <img src="pics/cell.png" alt="A cell" onerror="alert(5)">
    <svg onload="alert(6)"><text>svg text</text></svg>
    <math><mi>x</mi></math>
    <iframe srcdoc="<script>alert(7)</script>"></iframe>
    <object data="evil.swf"></object><embed src="evil.swf">
    <form action="/steal"><input name="q" value="typed"><button>Go</button></form>
    <noscript><img src="x" onerror="alert(8)"></noscript>
    <template><script>alert(9)</script></template>
    <!-- <script>alert(10)</script> -->
    <style>p { background: url(javascript:alert(11)) }</style>
  </article>`);
  const literal = page(
    '<article><p>Literal &lt;script&gt;alert(12)&lt;/script&gt; text and [md](javascript:alert(13)) text &amp; more.</p></article>',
  );

  test('no script, handler, style, frame or dangerous URL reaches the H5P text', () => {
    const text = h5pText(hostile);
    for (const bad of [
      /<script/i,
      /\son\w+=/i,
      /style=/i,
      /javascript:/i,
      /vbscript:/i,
      /data:/i,
      /<iframe/i,
      /<svg/i,
      /<object/i,
      /<embed/i,
      /<form/i,
      /<input/i,
      /<img/i,
      /srcdoc/i,
      /alert\(\d\)/,
    ]) {
      expect(text).not.toMatch(bad);
    }
    // Unsafe links keep their text; safe ones are made absolute.
    expect(text).toContain(
      'Para with mixed case, leading space, tab entity, vbscript, data link, <a href="mailto:teacher@school.example">mail</a> and <a href="https://pages.example/course/lesson.html#part-2">an anchor</a>.',
    );
    expect(text).toContain('<a href="https://pages.example/course/pics/cell.png">A cell</a>');
  });

  test('page text that looks like markup stays text', () => {
    expect(h5pText(literal)).toBe(
      '<p>Literal &lt;script&gt;alert(12)&lt;/script&gt; text and [md](javascript:alert(13)) text &amp; more.</p>',
    );
    expect(toMarkdown(extractArticle(literal, PAGE_URL))).toContain(
      'Literal \\<script\\>alert(12)\\</script\\> text and \\[md\\](javascript:alert(13)) text & more.',
    );
  });

  test('no dangerous markup or URL reaches the Markdown', () => {
    const md = toMarkdown(extractArticle(hostile, PAGE_URL));
    for (const bad of [/<script/i, /javascript:/i, /\]\(vbscript:/i, /\]\(data:/i, /onerror/i, /svg text/, /typed/]) {
      expect(md).not.toMatch(bad);
    }
    expect(md).toContain('![A cell](https://pages.example/course/pics/cell.png)');
  });

  test('the H5P text literally contains "javascript:" only as escaped page text, never as a URL', () => {
    const text = h5pText(page('<article><p>Type javascript:void(0) into the console.</p></article>'));
    expect(text).toBe('<p>Type javascript:void(0) into the console.</p>');
  });

  test('<base href> decides how relative links resolve; unsafe <base> is ignored', () => {
    const withBase = page(
      '<article><p><a href="next.html">next</a></p></article>',
      '<title>t</title><base href="https://cdn.example/docs/">',
    );
    expect(h5pText(withBase)).toContain('<a href="https://cdn.example/docs/next.html">next</a>');
    const badBase = page('<article><p><a href="next.html">next</a></p></article>', '<title>t</title><base href="javascript:alert(1)//">');
    expect(h5pText(badBase)).toContain('<a href="https://pages.example/course/next.html">next</a>');
  });
});

describe('Markdown writer', () => {
  test('nested lists, ordered start, tables, quotes, code and emphasis spacing', () => {
    const md = toMarkdown(
      extractArticle(
        page(`<article>
          <h1>Inner top heading</h1>
          <ul><li>one<ul><li>one-a</li><li>one-b</li></ul></li><li>two</li></ul>
          <ol start="3"><li>third</li><li>fourth</li></ol>
          <table><thead><tr><th>Name</th><th>Value</th></tr></thead><tbody><tr><td>a|b</td><td><b>1</b></td></tr></tbody></table>
          <blockquote><p>Quoted line one.</p><p>Quoted line two.</p></blockquote>
          <p>Some<strong> bold </strong>text, <code>a \`tick\`</code>, <del>gone</del><br>next line, 1. not a list</p>
          <pre>line 1
  indented \`\`\` fence</pre>
          <p># not a heading</p>
        </article>`),
        PAGE_URL,
      ),
    );
    expect(md).toContain('## Inner top heading');
    expect(md).toContain('- one\n  - one-a\n  - one-b\n- two');
    expect(md).toContain('3. third\n4. fourth');
    expect(md).toContain('| Name | Value |\n| --- | --- |\n| a\\|b | **1** |');
    expect(md).toContain('> Quoted line one.\n>\n> Quoted line two.');
    expect(md).toContain('Some **bold** text, `` a `tick` ``, ~~gone~~\\\nnext line, 1. not a list');
    expect(md).toContain('````\nline 1\n  indented ``` fence\n````');
    expect(md).toContain('\\# not a heading');
  });
});

describe('H5P writer', () => {
  test('a page without headings is one text block; headings split sections at the top level only', async () => {
    expect(columnContentFor(extractArticle(page('<article><p>a</p><p>b</p></article>'), PAGE_URL)).content).toHaveLength(1);

    const article = extractArticle(
      page('<article><p>intro</p><h2>A</h2><p>a</p><h3>A.1</h3><p>a1</p><h2>B</h2><p>b</p></article>'),
      PAGE_URL,
    );
    const texts = columnContentFor(article).content.map((c) => c.content.params.text);
    expect(texts).toEqual(['<p>intro</p>', '<h2>A</h2><p>a</p><h3>A.1</h3><p>a1</p>', '<h2>B</h2><p>b</p>']);

    const zip = await JSZip.loadAsync(await buildH5pPackage(article));
    const h5pJson = JSON.parse(await zip.file('h5p.json')!.async('string'));
    expect(h5pJson).toEqual({
      title: 'Lesson',
      language: 'en',
      mainLibrary: 'H5P.Column',
      embedTypes: ['div'],
      license: 'U',
      defaultLanguage: 'en',
      source: PAGE_URL,
      preloadedDependencies: [
        { machineName: 'H5P.Column', majorVersion: 1, minorVersion: 16 },
        { machineName: 'H5P.AdvancedText', majorVersion: 1, minorVersion: 1 },
      ],
    });
    const content = JSON.parse(await zip.file('content/content.json')!.async('string'));
    expect(content.content.map((c: { content: { params: { text: string } } }) => c.content.params.text)).toEqual(texts);
  });

  test('tags AdvancedText does not support are mapped onto ones it does', () => {
    const text = h5pText(
      page(
        '<article><p>x</p><h1>Big</h1><blockquote><p>quote</p></blockquote><table><tr><th>k</th><td>v</td></tr></table><p><i>it</i> <b>bo</b> <s>st</s> <u>un</u></p></article>',
      ),
    );
    expect(text).toContain('<h2>Big</h2><p>quote</p><p><strong>k</strong> | v</p><p><em>it</em> <strong>bo</strong> <del>st</del> un</p>');
  });
});

describe('fetch helpers', () => {
  test('charset: header first, then BOM, then <meta>, else utf-8; unknown labels fall back to utf-8', () => {
    const latin = Buffer.from('<meta charset="iso-8859-1">', 'latin1');
    expect(charsetOf('text/html; charset=ISO-8859-1', Buffer.from(''))).toBe('windows-1252');
    expect(charsetOf('text/html', latin)).toBe('windows-1252');
    expect(charsetOf('text/html', Buffer.from('<meta http-equiv="content-type" content="text/html; charset=Shift_JIS">'))).toBe(
      'shift_jis',
    );
    expect(charsetOf('text/html', Buffer.from([0xef, 0xbb, 0xbf, 0x3c]))).toBe('utf-8');
    expect(charsetOf('text/html; charset=klingon', Buffer.from(''))).toBe('utf-8');
    expect(charsetOf('text/html', Buffer.from('<p>plain</p>'))).toBe('utf-8');
  });

  test('Retry-After: seconds or an HTTP date, never negative, capped at 5 minutes', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Tue, 31 Dec 2024 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('86400', now)).toBe(300_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});
