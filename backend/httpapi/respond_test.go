package httpapi

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/flowweaver/flowweaver/backend/flow"
)

func TestStatusOfEveryCode(t *testing.T) {
	for code, want := range map[string]int{
		flow.EINVALID: 400, flow.EUNAUTHORIZED: 401, flow.ETOKENEXPIRED: 401, flow.EFORBIDDEN: 403,
		flow.ENOTFOUND: 404, flow.ECONFLICT: 409, flow.EPAYLOADTOOLARGE: 413, flow.ETOOMANY: 429,
		flow.EUNAVAILABLE: 503, flow.EINTERNAL: 500, "something_new": 500,
	} {
		if got := StatusOf(code); got != want {
			t.Errorf("StatusOf(%q) = %d, want %d", code, got, want)
		}
	}
}

func TestErrorBodyHidesInternalsAndCarriesDetails(t *testing.T) {
	body := ErrorBody(errors.New("open /secret/path: permission denied"))
	if body["error"] != "internal" || body["message"] != "internal error" {
		t.Fatalf("internal error leaked: %v", body)
	}
	problems := []flow.Problem{{Field: "nodes[0].id", Node: "x", Message: "bad id"}}
	body = ErrorBody(&flow.Error{Code: flow.EINVALID, Message: "workflow is invalid: 1 problems", Details: problems})
	if body["error"] != "bad_request" || len(body["problems"].([]flow.Problem)) != 1 {
		t.Fatalf("validation body: %v", body)
	}
	body = ErrorBody(&flow.Error{Code: flow.ECONFLICT, Message: "stale", Details: flow.WorkflowConflict{Version: 7}})
	if body["version"] != int64(7) {
		t.Fatalf("conflict body: %v", body)
	}
}

func TestSameOrigin(t *testing.T) {
	r, _ := http.NewRequest("GET", "http://127.0.0.1:7420/api/projects", nil)
	r.Host = "127.0.0.1:7420"
	for origin, want := range map[string]bool{
		"http://127.0.0.1:7420":      true,
		"http://127.0.0.1:7421":      false,
		"https://127.0.0.1:7420":     false,
		"http://localhost:7420":      false,
		"null":                       false,
		"http://127.0.0.1:7420/path": false,
		"http://127.0.0.1:7420.evil": false,
	} {
		if got := sameOrigin(origin, r); got != want {
			t.Errorf("sameOrigin(%q) = %v, want %v", origin, got, want)
		}
	}
}

// decodeJSON reads the body whole before decoding it; what it accepts and
// the error it gives for each kind of bad body are those of decoding from
// the stream.
func TestDecodeJSONBodies(t *testing.T) {
	s := New(Config{MaxBodyBytes: 64})
	for _, c := range []struct {
		name, body, ctype string
		code, message     string // "" = accepted
	}{
		{"object", `{"level":"info","message":"m"}`, "application/json", "", ""},
		{"whitespace around", " \n{\"message\":\"m\"}\n ", "", "", ""},
		{"empty", ``, "application/json", flow.EINVALID, "request body is empty"},
		{"syntax", `{"message":}`, "application/json", flow.EINVALID, "request body is not valid JSON: syntax error at byte 12"},
		{"type", `{"message":1}`, "application/json", flow.EINVALID, `request body is not valid JSON: field "message" must be string`},
		{"trailing", `{"message":"m"} {}`, "application/json", flow.EINVALID, "request body has trailing data after the JSON value"},
		{"too big", `{"message":"` + strings.Repeat("x", 100) + `"}`, "application/json", flow.EPAYLOADTOOLARGE, "request body is larger than 64 bytes"},
		{"content type", `{}`, "text/plain", flow.EINVALID, "content type must be application/json"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/api/x", strings.NewReader(c.body))
			if c.ctype != "" {
				r.Header.Set("Content-Type", c.ctype)
			}
			var v struct {
				Message string `json:"message"`
			}
			err := s.decodeJSON(httptest.NewRecorder(), r, &v)
			if c.code == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if v.Message != "m" && c.body != `{}` {
					t.Fatalf("decoded %+v", v)
				}
				return
			}
			if flow.ErrorCode(err) != c.code || flow.ErrorMessage(err) != c.message {
				t.Fatalf("got %s %q, want %s %q", flow.ErrorCode(err), flow.ErrorMessage(err), c.code, c.message)
			}
		})
	}
}
