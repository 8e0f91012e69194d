package tools

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// EToolFailed is the error code of a tool that ran and reported failure: a
// command that exited non-zero, an http response rejected by failOnStatus.
// It is distinct from bad_request (the params were wrong) and unavailable
// (the tool could not run or was canceled).
const EToolFailed = "tool_failed"

// TruncationMarker follows the kept head of a line the shell tool cut: the
// masking of secrets looks for it, so that a value cut in half there is
// masked too.
const TruncationMarker = " … [line truncated: "

// stderrLinesInError is how many trailing stderr lines a failed command's
// error message quotes.
const stderrLinesInError = 5

var shellSpec = spec{
	Name:  "shell",
	Title: "Shell command",
	Description: "Runs a command with /bin/sh -c in the project folder. stdout and stderr are streamed to the node's log line by line; " +
		"a non-zero exit code fails the node. On cancel or timeout the command's whole process group is terminated.",
	Params: []param{
		{Name: "command", Title: "Command", Type: typeString, Required: true,
			Description: "the shell command line, run by /bin/sh -c"},
		{Name: "cwd", Title: "Working directory", Type: typeString,
			Description: "directory to run in, relative to the project folder (default: the project folder); must stay inside it"},
		{Name: "env", Title: "Environment", Type: typeObject, Values: typeString,
			Description: "extra environment variables (name to value) added to the daemon's environment"},
	},
}

// shellTool runs a command line. The process handling lives in
// shell_unix.go; this file holds what is portable: params, line splitting
// and the bounded tails kept for the output.
type shellTool struct {
	opts Options
}

func newShellTool(o Options) *shellTool { return &shellTool{opts: o} }

func (*shellTool) spec() spec { return shellSpec }

func (*shellTool) Describe() flow.Tool { return shellSpec.describe() }

// envProblems checks the env param's names and values: the kernel takes
// "NAME=value\x00" strings, so '=' in a name or NUL anywhere would silently
// produce a different variable.
func envProblems(env map[string]string) error {
	for k, v := range env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return flow.Errorf(flow.EINVALID, "shell: invalid params: env name %q must be non-empty and contain neither '=' nor NUL", k)
		}
		if strings.ContainsRune(v, 0) {
			return flow.Errorf(flow.EINVALID, "shell: invalid params: env value of %q contains a NUL byte", k)
		}
	}
	return nil
}

// lineStream splits one output stream of a command into lines, hands each
// to Log and keeps the last bytes for the node's output. It is used by one
// goroutine only.
type lineStream struct {
	name    string
	log     func(stream, line string)
	maxLine int
	tail    tailBuffer
	lines   int64
	cut     int64 // lines shortened to maxLine
}

func newLineStream(name string, log func(string, string), maxLine, tail int) *lineStream {
	if maxLine < 16 {
		maxLine = 16 // bufio's minimum buffer size
	}
	return &lineStream{name: name, log: log, maxLine: maxLine, tail: tailBuffer{max: tail}}
}

// consume reads r until EOF or a read error (a deadline set to abandon a
// pipe that a background process keeps open). A line longer than maxLine
// is cut and ends with a marker giving the number of dropped bytes, so
// nothing disappears silently and memory stays bounded.
func (s *lineStream) consume(r io.Reader) {
	br := bufio.NewReaderSize(r, s.maxLine)
	for {
		chunk, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			head := string(chunk)
			dropped := 0
			for err == bufio.ErrBufferFull {
				chunk, err = br.ReadSlice('\n')
				dropped += len(chunk)
			}
			if err == nil {
				dropped-- // the newline
				if dropped > 0 && len(chunk) >= 2 && chunk[len(chunk)-2] == '\r' {
					dropped--
				}
			}
			s.cut++
			s.emit(fmt.Sprintf("%s%s%d more bytes]", validUTF8(head), TruncationMarker, dropped))
			if err != nil {
				return
			}
			continue
		}
		if len(chunk) > 0 {
			line := chunk
			if line[len(line)-1] == '\n' {
				line = line[:len(line)-1]
			}
			if len(line) > 0 && line[len(line)-1] == '\r' {
				line = line[:len(line)-1]
			}
			s.emit(validUTF8(string(line)))
		}
		if err != nil {
			return
		}
	}
}

func (s *lineStream) emit(line string) {
	s.lines++
	s.tail.add(line)
	s.log(s.name, line)
}

// validUTF8 keeps lines valid for JSON events: invalid bytes become U+FFFD.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// tailBuffer keeps the last max bytes of the lines added, starting at a
// line boundary. Appending is amortised O(1): the buffer is compacted only
// when it holds twice the limit.
type tailBuffer struct {
	max       int
	buf       []byte
	truncated bool
}

func (t *tailBuffer) add(line string) {
	t.buf = append(t.buf, line...)
	t.buf = append(t.buf, '\n')
	if len(t.buf) > 2*t.max {
		n := copy(t.buf, t.buf[len(t.buf)-t.max:])
		t.buf = t.buf[:n]
		t.truncated = true
	}
}

// String returns the kept text; when earlier output was dropped it starts
// at the first complete line.
func (t *tailBuffer) String() string {
	b := t.buf
	if len(b) > t.max {
		b = b[len(b)-t.max:]
		t.truncated = true
	}
	if t.truncated {
		if i := bytes.IndexByte(b, '\n'); i >= 0 && i < len(b)-1 {
			b = b[i+1:]
		}
	}
	return string(b)
}

// lastLines returns up to n trailing lines of s, at most 2 KiB.
func lastLines(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	if len(s) > 2048 {
		s = s[len(s)-2048:]
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[i+1:]
		}
	}
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
