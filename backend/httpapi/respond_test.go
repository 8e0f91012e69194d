package httpapi

import (
	"errors"
	"net/http"
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
