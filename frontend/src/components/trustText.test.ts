import { describe, expect, it } from 'vitest';
import { commandLine, hasHidden, shellQuote, visible } from './TrustDialog';

describe('trust dialog text', () => {
  it('quotes arguments so the command line reads as it runs', () => {
    expect(commandLine({ command: 'npx', args: ['-y', '@scope/server@1.2'] })).toBe('npx -y @scope/server@1.2');
    expect(shellQuote('two words')).toBe("'two words'");
    expect(shellQuote("touch '/tmp/a b'")).toBe(`"touch '/tmp/a b'"`);
    expect(shellQuote(`it's $HOME`)).toBe(`'it'\\''s $HOME'`);
    expect(shellQuote('')).toBe("''");
  });

  it('makes hidden and control characters visible', () => {
    expect(visible('safe\u202e;txt.exe')).toBe('safe⟨U+202E⟩;txt.exe');
    expect(visible('a\u200bb\u0007c')).toBe('a⟨U+200B⟩b⟨U+0007⟩c');
    expect(visible('line1\nline2\tx')).toBe('line1\nline2\tx');
    expect(hasHidden('plain text')).toBe(false);
    expect(hasHidden('x\u2066y')).toBe(true);
    expect(hasHidden('x\u2066y')).toBe(true); // no state kept between calls
  });
});
