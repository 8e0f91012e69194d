package secrets

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"sort"
	"strings"

	"github.com/flowweaver/flowweaver/backend/tools"
)

// Mask is what a secret value is replaced with.
const Mask = "***"

// minPartLen is the shortest line of a multi-line value that is masked on
// its own (a PEM key's lines are masked one by one, its empty lines not).
const minPartLen = 4

// Masker replaces secret values, and the ways they are commonly encoded,
// with "***". The zero value and nil mask nothing.
//
// Text is masked a line at a time: a log line is the unit the engine stores
// and sends, and tools only hand over whole lines, so a value written in
// two pieces (two writes, two log batches) is masked once its line is
// complete. A multi-line value (a PEM key) is masked line by line, the way
// CI systems mask multi-line secrets.
type Masker struct {
	r        *strings.Replacer
	patterns []string // longest first
	jsonForm [][]byte // patterns as they appear inside JSON strings
	// prefixes is a bit set of the hashed first 4 bytes of every pattern
	// (nil when a pattern is shorter): a text with no 4-byte window in it
	// holds no pattern and is returned without running the replacer. Most
	// log lines hold no secret, and this makes them cost a table lookup
	// per byte instead of an allocation.
	prefixes []uint64
}

// NewMasker builds a masker for values. Empty values are ignored.
func NewMasker(values []string) *Masker {
	seen := map[string]bool{}
	add := func(p string) {
		if p != "" && p != Mask {
			seen[p] = true
		}
	}
	for _, v := range values {
		if v == "" {
			continue
		}
		parts := []string{v}
		if strings.ContainsAny(v, "\r\n") {
			for _, l := range strings.FieldsFunc(v, func(r rune) bool { return r == '\n' || r == '\r' }) {
				if len(strings.TrimSpace(l)) >= minPartLen {
					parts = append(parts, l)
				}
			}
		}
		for _, p := range parts {
			for _, e := range encodings(p) {
				add(e)
			}
		}
	}
	if len(seen) == 0 {
		return nil
	}
	m := &Masker{}
	for p := range seen {
		m.patterns = append(m.patterns, p)
	}
	// strings.Replacer tries the old strings in argument order at each
	// position: longest first, so a base64 form wins over a shorter
	// value that happens to be inside it.
	sort.Slice(m.patterns, func(i, j int) bool {
		if len(m.patterns[i]) != len(m.patterns[j]) {
			return len(m.patterns[i]) > len(m.patterns[j])
		}
		return m.patterns[i] < m.patterns[j]
	})
	args := make([]string, 0, 2*len(m.patterns))
	for _, p := range m.patterns {
		args = append(args, p, Mask)
		j, _ := json.Marshal(p)
		m.jsonForm = append(m.jsonForm, j[1:len(j)-1])
	}
	m.r = strings.NewReplacer(args...)
	if len(m.patterns[len(m.patterns)-1]) >= 4 {
		m.prefixes = make([]uint64, 1<<prefixBits/64)
		for _, p := range m.patterns {
			h := prefixHash(p, 0)
			m.prefixes[h/64] |= 1 << (h % 64)
		}
	}
	return m
}

const prefixBits = 16

// prefixHash hashes the 4 bytes of s at i into prefixBits bits.
func prefixHash(s string, i int) uint32 {
	w := uint32(s[i]) | uint32(s[i+1])<<8 | uint32(s[i+2])<<16 | uint32(s[i+3])<<24
	return (w * 2654435761) >> (32 - prefixBits)
}

// mayContain is false when s certainly holds no pattern.
func (m *Masker) mayContain(s string) bool {
	if m.prefixes == nil {
		return true
	}
	if len(s) < 4 {
		return false
	}
	// A rolling window: one new byte per position.
	w := uint32(s[0])<<8 | uint32(s[1])<<16 | uint32(s[2])<<24
	for i := 3; i < len(s); i++ {
		w = w>>8 | uint32(s[i])<<24
		h := (w * 2654435761) >> (32 - prefixBits)
		if m.prefixes[h/64]&(1<<(h%64)) != 0 {
			return true
		}
	}
	return false
}

// encodings returns v and the forms it commonly takes in output: base64
// (standard and URL alphabet, padded and not, and the part of it that is
// the same wherever v sits inside a longer base64 text, as in an HTTP Basic
// header), URL escaping, hex and JSON string escaping.
func encodings(v string) []string {
	out := []string{v, url.QueryEscape(v), url.PathEscape(v), hex.EncodeToString([]byte(v)), strings.ToUpper(hex.EncodeToString([]byte(v)))}
	if j, err := json.Marshal(v); err == nil {
		out = append(out, string(j[1:len(j)-1]))
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		out = append(out, enc.EncodeToString([]byte(v)), enc.WithPadding(base64.NoPadding).EncodeToString([]byte(v)))
		out = append(out, base64Cores(enc.WithPadding(base64.NoPadding), v)...)
	}
	return out
}

// base64Cores returns, for the three byte alignments v can have inside a
// longer text, the base64 characters that depend on v's bytes alone. Cores
// shorter than 4 characters are left out: they would mask unrelated text.
func base64Cores(enc *base64.Encoding, v string) []string {
	var out []string
	n := len(v)
	for k := 0; k < 3; k++ {
		buf := make([]byte, k+n)
		copy(buf[k:], v)
		s := enc.EncodeToString(buf)
		from := (8*k + 5) / 6   // first character made of v's bits only
		to := (8 * (k + n)) / 6 // characters before this one end within v
		if to-from >= 4 && to <= len(s) {
			out = append(out, s[from:to])
		}
	}
	return out
}

// Empty reports whether m masks nothing.
func (m *Masker) Empty() bool { return m == nil || m.r == nil }

// String masks every occurrence in s.
func (m *Masker) String(s string) string {
	if m.Empty() || s == "" {
		return s
	}
	if strings.Contains(s, tools.TruncationMarker) {
		s = m.maskBeforeCuts(s)
	}
	if !m.mayContain(s) {
		return s
	}
	return m.r.Replace(s)
}

// Contains reports whether s holds a value or one of its encodings.
func (m *Masker) Contains(s string) bool {
	if m.Empty() {
		return false
	}
	for _, p := range m.patterns {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

// Cut masks s and then cuts it to at most max bytes (ending on a rune
// boundary, plus suffix). Masking first means a value that straddles the
// cut is masked whole, and a cut that would leave the beginning of a value
// at the end of the kept text masks that beginning too.
func (m *Masker) Cut(s string, max int, suffix string) string {
	s = m.String(s)
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && cut < len(s) && (s[cut]&0xC0) == 0x80 {
		cut--
	}
	head := s[:cut]
	if !m.Empty() {
		head = m.maskTailPrefix(head)
	}
	return head + suffix
}

// maskBeforeCuts masks the beginning of a value left right before the
// shell tool's truncation marker (the rest of that line was dropped).
func (m *Masker) maskBeforeCuts(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, tools.TruncationMarker)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(m.maskTailPrefix(m.r.Replace(s[:i])))
		b.WriteString(tools.TruncationMarker)
		s = s[i+len(tools.TruncationMarker):]
	}
}

// maskTailPrefix masks the longest end of s (at least minPartLen bytes)
// that is the beginning of a pattern.
func (m *Masker) maskTailPrefix(s string) string {
	best := 0
	for _, p := range m.patterns {
		for l := min(len(p)-1, len(s)); l >= minPartLen && l > best; l-- {
			if strings.HasSuffix(s, p[:l]) {
				best = l
				break
			}
		}
	}
	if best == 0 {
		return s
	}
	return s[:len(s)-best] + Mask
}

// JSON masks the strings (values and keys) of a JSON document. Numbers,
// booleans and the structure are kept, so the result is valid JSON of the
// same shape. Documents holding no pattern are returned as they are.
func (m *Masker) JSON(b []byte) []byte {
	if m.Empty() || len(b) == 0 {
		return b
	}
	hit := bytes.Contains(b, []byte(tools.TruncationMarker))
	for _, p := range m.jsonForm {
		if bytes.Contains(b, p) {
			hit = true
			break
		}
	}
	if !hit {
		return b
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		// Not JSON after all: mask it as text, which may break it, but a
		// broken document is better than a leaked value.
		return []byte(m.String(string(b)))
	}
	out, err := json.Marshal(m.Value(v))
	if err != nil {
		return []byte(m.String(string(b)))
	}
	return out
}

// Value masks every string inside v (as decoded from JSON: maps, slices,
// strings, numbers) and returns the masked copy.
func (m *Masker) Value(v any) any {
	if m.Empty() {
		return v
	}
	switch v := v.(type) {
	case string:
		return m.String(v)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[m.String(k)] = m.Value(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = m.Value(x)
		}
		return out
	}
	return v
}
