package secrets

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

const value = "s3cr3t/v@lue+with=odd&chars"

func TestMaskerMasksValueAndEncodings(t *testing.T) {
	m := NewMasker([]string{value})
	forms := map[string]string{
		"raw":          value,
		"base64":       base64.StdEncoding.EncodeToString([]byte(value)),
		"base64url":    base64.URLEncoding.EncodeToString([]byte(value)),
		"base64 nopad": base64.RawStdEncoding.EncodeToString([]byte(value)),
		"url query":    url.QueryEscape(value),
		"url path":     url.PathEscape(value),
		"hex":          hex.EncodeToString([]byte(value)),
		"basic auth":   base64.StdEncoding.EncodeToString([]byte("user:" + value)),
		"basic auth 2": base64.StdEncoding.EncodeToString([]byte("us:" + value + "x")),
		"json escaped": strings.Trim(string(must(json.Marshal(value))), `"`),
	}
	for name, f := range forms {
		line := "before " + f + " after"
		got := m.String(line)
		if !strings.Contains(got, Mask) || strings.Contains(got, f) {
			t.Errorf("%s: %q masked to %q", name, line, got)
		}
	}
	if got := m.String("nothing to hide"); got != "nothing to hide" {
		t.Fatalf("unrelated text changed: %q", got)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestMaskerMultiLineValueMaskedLineByLine(t *testing.T) {
	pem := "-----BEGIN KEY-----\nAAAAsecretline1\n\nBBBBsecretline2\n-----END KEY-----"
	m := NewMasker([]string{pem})
	for _, l := range strings.Split(pem, "\n") {
		if l == "" {
			continue
		}
		if got := m.String("x " + l); strings.Contains(got, l) {
			t.Fatalf("line %q of a multi-line value not masked: %q", l, got)
		}
	}
	if got := m.String("empty lines stay"); got != "empty lines stay" {
		t.Fatalf("%q", got)
	}
}

func TestMaskerJSONKeepsShapeAndNumbers(t *testing.T) {
	m := NewMasker([]string{"12345", "tok<&>en"})
	in := `{"n":12345,"s":"a 12345 b","k":{"tok<&>en":["tok<&>en"]},"esc":"tok\u003c\u0026\u003een"}`
	var v any
	if err := json.Unmarshal([]byte(in), &v); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v) // as the engine encodes outputs
	out := m.JSON(b)
	var back map[string]any
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatalf("masked JSON is invalid: %s", out)
	}
	if strings.Contains(string(out), "tok") || strings.Contains(string(out), `"a 12345 b"`) {
		t.Fatalf("not masked: %s", out)
	}
	if back["n"].(float64) != 12345 {
		t.Fatalf("a number was changed: %s", out)
	}
	if same := m.JSON([]byte(`{"x":1}`)); string(same) != `{"x":1}` {
		t.Fatalf("clean JSON changed: %s", same)
	}
}

// A line cut to the maximum length is masked before it is cut, and a cut
// through the middle of a value masks the half that is kept.
func TestMaskerCutMasksAcrossTheCut(t *testing.T) {
	m := NewMasker([]string{"ABCDEFGHIJ"})
	line := strings.Repeat("x", 10) + "ABCDEFGHIJ" + strings.Repeat("y", 10)
	for max := 11; max < len(line); max++ {
		got := m.Cut(line, max, "…")
		if strings.Contains(got, "ABCD") {
			t.Fatalf("cut at %d leaked a part: %q", max, got)
		}
	}
}

func TestMaskerEmpty(t *testing.T) {
	var m *Masker
	if m.String("a") != "a" || string(m.JSON([]byte("1"))) != "1" || !m.Empty() {
		t.Fatal("nil masker changed something")
	}
	if NewMasker([]string{""}) != nil {
		t.Fatal("empty values make a masker")
	}
}

// The 4-byte prefilter must never skip a line that holds a value: at the
// start, the end, alone, and for values too short for the prefilter.
func TestMaskerPrefilterPositions(t *testing.T) {
	m := NewMasker([]string{"ABCDEFGH"})
	for _, s := range []string{"ABCDEFGH", "ABCDEFGH tail", "head ABCDEFGH", "xABCDEFGHx"} {
		if strings.Contains(m.String(s), "ABCD") {
			t.Fatalf("%q not masked", s)
		}
	}
	short := NewMasker([]string{"ab"})
	if got := short.String("xaby"); got != "x***y" {
		t.Fatalf("short value: %q", got)
	}
}
