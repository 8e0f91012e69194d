package workflow

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/flowweaver/flowweaver/backend/tools"
)

// TestDocsControlFlowExamplesAreValid: every workflow example in the
// control flow section of docs/workflows.md can be pasted into a file as
// it is: it decodes and validates against the real tool registry.
func TestDocsControlFlowExamplesAreValid(t *testing.T) {
	b, err := os.ReadFile("../../docs/workflows.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, "## Control flow")
	end := strings.Index(doc, "## Versions and conflicts")
	if start < 0 || end < start {
		t.Fatal("control flow section not found")
	}
	blocks := regexp.MustCompile("(?s)```json\n(.*?)```").FindAllStringSubmatch(doc[start:end], -1)
	reg := tools.NewRegistry(tools.Options{})
	n := 0
	for _, m := range blocks {
		if !strings.Contains(m[1], `"nodes"`) {
			continue
		}
		n++
		wf, err := Decode([]byte(m[1]))
		if err != nil {
			t.Errorf("example %d does not decode: %v\n%s", n, err, m[1])
			continue
		}
		if probs := Validate("example", wf, reg, 0); probs != nil {
			t.Errorf("example %d (%s) is invalid: %+v", n, wf.Name, probs)
		}
	}
	if n < 7 {
		t.Errorf("found %d workflow examples, want one per construct (7)", n)
	}
}

// TestDocsInputsExampleIsExact: the example of the Inputs section of
// docs/workflows.md is valid and written exactly as the writer writes it.
func TestDocsInputsExampleIsExact(t *testing.T) {
	b, err := os.ReadFile("../../docs/workflows.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, "## Inputs")
	end := strings.Index(doc, "## Control flow")
	if start < 0 || end < start {
		t.Fatal("inputs section not found")
	}
	m := regexp.MustCompile("(?s)```json\n(.*?)```").FindStringSubmatch(doc[start:end])
	if m == nil {
		t.Fatal("no example")
	}
	wf, err := Decode([]byte(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	if probs := Validate("example", wf, tools.NewRegistry(tools.Options{}), 0); probs != nil {
		t.Fatalf("invalid: %+v", probs)
	}
	if out, _ := Encode(wf); string(out) != m[1] {
		t.Fatalf("the writer writes\n%s", out)
	}
}
