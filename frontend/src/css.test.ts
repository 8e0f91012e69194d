import { describe, expect, it } from 'vitest';

// A missing "}" in one stylesheet silently nests every later rule of the
// bundle (CSS nesting), so whole features lose their styles without any
// build error. Every stylesheet must close what it opens.
const sheets = import.meta.glob<string>('./**/*.css', { query: '?raw', import: 'default', eager: true });

describe('stylesheets', () => {
  it('are found', () => expect(Object.keys(sheets).length).toBeGreaterThan(1));
  for (const [file, raw] of Object.entries(sheets)) {
    it(`${file} has balanced braces`, () => {
      const text = raw.replace(/\/\*[\s\S]*?\*\//g, '').replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
      let depth = 0;
      let line = 1;
      for (const ch of text) {
        if (ch === '\n') line++;
        if (ch === '{') depth++;
        if (ch === '}' && --depth < 0) expect.fail(`unexpected "}" near line ${line}`);
      }
      expect(depth, 'unclosed "{"').toBe(0);
    });
  }
});
