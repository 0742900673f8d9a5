import { CONVERSION_FORMATS } from '../../workflows/bulk-conversion/formats';
import { convertPage } from './convert-page';

// A new conversion thread converts a sample article a few times before its first real page, so
// the parser, extractor and renderers are compiled and their inline caches filled by then: cold,
// a thread's first pages take several times their steady cost, while the first round of a job's
// fetches is already waiting on them.

/** Rounds over every format: enough for V8 to compile the hot paths with baseline code. */
const WARM_UP_ROUNDS = 12;

const paragraphs = Array.from(
  { length: 6 },
  (_, i) =>
    `<p>Paragraph ${i + 1} of the sample article, with <a href="/related/${i}">a relative link</a>, <strong>strong</strong> and <em>emphasised</em> words, <code>inline code</code> and an entity &amp; a non-breaking&nbsp;space.</p>`,
).join('');

export const WARM_UP_PAGE = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Sample article</title>
<meta name="description" content="A page that exercises the converter"><style>p{margin:0}</style><script>window.x=1</script></head>
<body><nav><a href="/">Home</a> <a href="/about">About</a></nav><main><article><h1>Sample article</h1>${paragraphs}
<h2>A list and a table</h2><ul><li>one</li><li>two <a href="https://example.org/x">three</a></li></ul><ol><li>first</li><li>second</li></ol>
<table><thead><tr><th>Name</th><th>Value</th></tr></thead><tbody><tr><td>a</td><td>1</td></tr><tr><td>b</td><td>2</td></tr></tbody></table>
<h3>Code and quotes</h3><pre><code>const answer = 42;\n  return answer;</code></pre><blockquote><p>A quoted line.</p></blockquote>
<figure><img src="/image.png" alt="An image"><figcaption>A caption</figcaption></figure></article></main>
<footer><p>Footer text</p></footer></body></html>`;

/** Converts the sample page in every format a few times; the results are discarded. */
export function warmUpConverter(rounds = WARM_UP_ROUNDS): void {
  for (let i = 0; i < rounds; i++) for (const format of CONVERSION_FORMATS) convertPage(WARM_UP_PAGE, 'https://example.org/sample', format);
}
