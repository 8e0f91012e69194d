package workflow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/inputs"
)

// The file format (docs/workflows.md). It is written by hand rather than by
// json.MarshalIndent so that the layout of the text is part of the contract:
//
//   - fixed key order: name, inputs (only when declared; its JSON Schema
//     indented with its own key order kept, which is the run form's field
//     order), triggers (only when there are any), nodes,
//     edges, layout; in a node id, tool, label, retry, timeoutMs, params;
//     one trigger per line (triggers.go);
//   - 2-space indent, one node key per line, params expanded one key per
//     line with keys sorted (nested values expanded the same way), edges and
//     layout entries one per line;
//   - canvas positions live in the trailing "layout" object, keyed by node
//     id in sorted order, so moving a node touches only its layout line;
//   - no version or id inside (the version is the server's, the id is the
//     file name), so a save that changes nothing changes no byte;
//   - LF line endings and a trailing newline.

// fileWorkflow is what a workflow file decodes into. Node positions are
// accepted inside nodes too (the API shape, or a hand-written file); the
// layout section wins when both are present.
type fileWorkflow struct {
	Name     string                   `json:"name"`
	Inputs   json.RawMessage          `json:"inputs"`
	Triggers []flow.Trigger           `json:"triggers"`
	Nodes    []flow.Node              `json:"nodes"`
	Edges    []flow.Edge              `json:"edges"`
	Layout   map[string]flow.Position `json:"layout"`
}

// Encode renders wf in the file format. Encoding is deterministic: equal
// workflows give equal bytes. wf.ID and wf.Version are not written.
func Encode(wf *flow.Workflow) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("{\n  \"name\": ")
	if err := writeJSON(&b, wf.Name, ""); err != nil {
		return nil, err
	}
	if err := writeInputs(&b, wf.Inputs); err != nil {
		return nil, err
	}
	if err := writeTriggers(&b, wf.Triggers); err != nil {
		return nil, err
	}
	b.WriteString(",\n  \"nodes\": [")
	for i, n := range wf.Nodes {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n    {\n      \"id\": ")
		if err := writeJSON(&b, n.ID, ""); err != nil {
			return nil, err
		}
		b.WriteString(",\n      \"tool\": ")
		if err := writeJSON(&b, n.Tool, ""); err != nil {
			return nil, err
		}
		if n.Label != "" {
			b.WriteString(",\n      \"label\": ")
			if err := writeJSON(&b, n.Label, ""); err != nil {
				return nil, err
			}
		}
		if n.Retry != nil {
			fmt.Fprintf(&b, ",\n      \"retry\": {\"max\": %d", n.Retry.Max)
			if n.Retry.BackoffMs != 0 {
				fmt.Fprintf(&b, ", \"backoffMs\": %d", n.Retry.BackoffMs)
			}
			b.WriteByte('}')
		}
		if n.TimeoutMs != 0 {
			fmt.Fprintf(&b, ",\n      \"timeoutMs\": %d", n.TimeoutMs)
		}
		if len(n.Params) > 0 {
			b.WriteString(",\n      \"params\": {")
			keys := make([]string, 0, len(n.Params))
			for k := range n.Params {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for j, k := range keys {
				if j > 0 {
					b.WriteByte(',')
				}
				b.WriteString("\n        ")
				if err := writeJSON(&b, k, ""); err != nil {
					return nil, err
				}
				b.WriteString(": ")
				if err := writeJSON(&b, n.Params[k], "        "); err != nil {
					return nil, fmt.Errorf("node %q param %q: %w", n.ID, k, err)
				}
			}
			b.WriteString("\n      }")
		}
		b.WriteString("\n    }")
	}
	if len(wf.Nodes) > 0 {
		b.WriteString("\n  ")
	}
	b.WriteString("],\n  \"edges\": [")
	for i, e := range wf.Edges {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n    {\"source\": ")
		if err := writeJSON(&b, e.Source, ""); err != nil {
			return nil, err
		}
		b.WriteString(", \"target\": ")
		if err := writeJSON(&b, e.Target, ""); err != nil {
			return nil, err
		}
		if e.On != "" {
			b.WriteString(", \"on\": ")
			if err := writeJSON(&b, e.On, ""); err != nil {
				return nil, err
			}
		}
		b.WriteByte('}')
	}
	if len(wf.Edges) > 0 {
		b.WriteString("\n  ")
	}
	b.WriteString("],\n  \"layout\": {")
	layout := make(map[string]flow.Position, len(wf.Nodes))
	for _, n := range wf.Nodes {
		if n.Position != nil {
			layout[n.ID] = *n.Position
		}
	}
	ids := make([]string, 0, len(layout))
	for id := range layout {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n    ")
		if err := writeJSON(&b, id, ""); err != nil {
			return nil, err
		}
		pos := layout[id]
		fmt.Fprintf(&b, ": {\"x\": %s, \"y\": %s}", formatFloat(pos.X), formatFloat(pos.Y))
	}
	if len(ids) > 0 {
		b.WriteString("\n  ")
	}
	b.WriteString("}\n}\n")
	return b.Bytes(), nil
}

// writeJSON appends v as JSON without HTML escaping (a shell command's "&&"
// stays readable), objects and arrays expanded with 2-space indent after
// prefix. encoding/json sorts map keys, which makes the output deterministic.
func writeJSON(b *bytes.Buffer, v any, prefix string) error {
	var tmp bytes.Buffer
	enc := json.NewEncoder(&tmp)
	enc.SetEscapeHTML(false)
	enc.SetIndent(prefix, "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	b.Write(bytes.TrimSuffix(tmp.Bytes(), []byte("\n")))
	return nil
}

// formatFloat writes a coordinate the way encoding/json writes a float64,
// so a position survives a round trip unchanged.
func formatFloat(f float64) string {
	b, err := json.Marshal(f)
	if err != nil { // NaN or Inf: cannot come from JSON input
		return "0"
	}
	return string(b)
}

// Decode parses a workflow file. Unknown keys are an error (a typo such as
// "parms" must not silently lose data on the next save); the message points
// at the line and column of a syntax error.
func Decode(data []byte) (*flow.Workflow, error) {
	var f fileWorkflow
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, describeJSONError(data, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("unexpected data after the workflow object")
	}
	wf := &flow.Workflow{Name: f.Name, Nodes: f.Nodes, Edges: f.Edges, Triggers: f.Triggers}
	if !inputs.Empty(f.Inputs) {
		wf.Inputs = f.Inputs
	}
	if wf.Nodes == nil {
		wf.Nodes = []flow.Node{}
	}
	if wf.Edges == nil {
		wf.Edges = []flow.Edge{}
	}
	for i := range wf.Nodes {
		if pos, ok := f.Layout[wf.Nodes[i].ID]; ok {
			p := pos
			wf.Nodes[i].Position = &p
		}
	}
	return wf, nil
}

func describeJSONError(data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		line, col := lineCol(data, syn.Offset-1) // Offset is just past the bad byte
		return fmt.Errorf("invalid JSON at line %d, column %d: %s", line, col, syn.Error())
	case errors.As(err, &typ):
		line, col := lineCol(data, typ.Offset)
		field := typ.Field
		if field == "" {
			field = "workflow"
		}
		return fmt.Errorf("line %d, column %d: %s must be %s, not %s", line, col, field, typ.Type, typ.Value)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("invalid JSON: the file is empty or cut short")
	}
	return fmt.Errorf("invalid workflow: %s", err.Error())
}

func lineCol(data []byte, offset int64) (line, col int) {
	if offset < 0 {
		offset = 0
	}
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	line, col = 1, 1
	for _, c := range data[:offset] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

// ParseJSON decodes a workflow sent by a client (PUT body or the payload of
// a workflow.update command): the API shape, with "position" on each node.
// Unknown keys are ignored (clients may carry UI state along); a body that
// is not a workflow is a bad_request error whose Details is one problem
// pointing at the offending field, like Save's validation errors.
func ParseJSON(data []byte) (*flow.Workflow, error) {
	var wf flow.Workflow
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&wf); err != nil {
		field := "workflow"
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) && typ.Field != "" {
			field = typ.Field
		}
		msg := describeJSONError(data, err).Error()
		return nil, &flow.Error{Code: flow.EINVALID, Message: "workflow is not valid JSON: " + msg,
			Details: []flow.Problem{{Field: field, Message: msg}}}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		msg := "unexpected data after the workflow object"
		return nil, &flow.Error{Code: flow.EINVALID, Message: msg, Details: []flow.Problem{{Field: "workflow", Message: msg}}}
	}
	return &wf, nil
}

// writeInputs writes the "inputs" declaration: the JSON Schema as the
// user wrote it (key order kept, so the run form keeps its field order),
// re-indented to the file's 2-space layout. Nothing is written when the
// workflow declares no inputs, so files without inputs keep their bytes.
func writeInputs(b *bytes.Buffer, raw json.RawMessage) error {
	if inputs.Empty(raw) {
		return nil
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return fmt.Errorf("inputs: %w", err)
	}
	b.WriteString(",\n  \"inputs\": ")
	return json.Indent(b, compact.Bytes(), "  ", "  ")
}
