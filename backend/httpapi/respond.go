package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// StatusOf maps an error code to its HTTP status. It is the one place
// where that mapping lives.
func StatusOf(code string) int {
	switch code {
	case flow.EINVALID:
		return http.StatusBadRequest
	case flow.EUNAUTHORIZED, flow.ETOKENEXPIRED:
		return http.StatusUnauthorized
	case flow.EFORBIDDEN, flow.EUNTRUSTED:
		return http.StatusForbidden
	case flow.ENOTFOUND:
		return http.StatusNotFound
	case flow.ECONFLICT:
		return http.StatusConflict
	case flow.EPAYLOADTOOLARGE:
		return http.StatusRequestEntityTooLarge
	case flow.ETOOMANY:
		return http.StatusTooManyRequests
	case flow.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	case flow.EDISKFULL:
		return http.StatusInsufficientStorage
	}
	return http.StatusInternalServerError
}

// ErrorBody renders err as the JSON error body of docs/backend.md, Errors:
// {"error": code, "message": text}, plus "problems" for validation errors
// and "version"/"workflow" for conflicts.
func ErrorBody(err error) map[string]any {
	code := flow.ErrorCode(err)
	body := map[string]any{"error": code, "message": flow.ErrorMessage(err)}
	var fe *flow.Error
	if errors.As(err, &fe) && fe.Details != nil {
		switch d := fe.Details.(type) {
		case []flow.Problem:
			body["problems"] = d
		case flow.WorkflowConflict:
			body["version"] = d.Version
			body["workflow"] = d.Workflow
		case *flow.WorkflowConflict:
			body["version"] = d.Version
			body["workflow"] = d.Workflow
		default:
			body["details"] = d
		}
	}
	return body
}

// writeError writes err as JSON with its status; internal errors are
// logged with the request, and their text is never sent to the client.
func writeError(w http.ResponseWriter, r *http.Request, err error, log *slog.Logger) {
	code := flow.ErrorCode(err)
	status := StatusOf(code)
	if (status == http.StatusInternalServerError || status == http.StatusInsufficientStorage) && log != nil {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="flowweaver"`)
	}
	if status == http.StatusServiceUnavailable {
		if flow.IsUnavailable(err) && log != nil {
			log.Warn("database unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, ErrorBody(err))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// decodeJSON reads one JSON value from the body into v, refusing unknown
// shapes with a bad_request that says what was wrong.
func (s *Server) decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return flow.Errorf(flow.EINVALID, "content type must be application/json")
	}
	// The body is read whole here, not from inside the decoder: reading
	// it to the end starts net/http's background read, and doing that at
	// the bottom of the decoder's calls grew every request's fresh stack
	// (a copy of it) just for that (4 % of serve's CPU under a stream of
	// notifications).
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return flow.Errorf(flow.EPAYLOADTOOLARGE, "request body is larger than %d bytes", s.cfg.MaxBodyBytes)
		}
		return flow.Errorf(flow.EINVALID, "request body could not be read: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return flow.Errorf(flow.EINVALID, "request body is empty")
		}
		return flow.Errorf(flow.EINVALID, "request body is not valid JSON: %s", jsonReason(err))
	}
	if dec.More() {
		return flow.Errorf(flow.EINVALID, "request body has trailing data after the JSON value")
	}
	return nil
}

func jsonReason(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q must be %s", te.Field, te.Type)
	}
	return err.Error()
}
