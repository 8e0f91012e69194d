package tools

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/flowweaver/flowweaver/backend/flow"
)

var httpSpec = spec{
	Name:  "http",
	Title: "HTTP request",
	Description: "Sends an HTTP request and outputs the response status, headers and body (decoded when the response is JSON). " +
		"A non-2xx status is not an error unless failOnStatus is true.",
	Params: []param{
		{Name: "method", Title: "Method", Type: typeString, Default: "GET",
			Enum:        []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"},
			Description: "HTTP method (default GET)"},
		{Name: "url", Title: "URL", Type: typeString, Required: true, Format: "uri",
			Description: "absolute http:// or https:// URL"},
		{Name: "headers", Title: "Headers", Type: typeObject, Values: typeString,
			Description: "request headers, name to value"},
		{Name: "body", Title: "Body", Type: typeAny,
			Description: "request body: a string is sent as is; any other value is sent as JSON with Content-Type application/json (unless headers set one)"},
		{Name: "failOnStatus", Title: "Fail on status", Type: typeBoolean, Default: false,
			Description: "when true, a response status outside 200-299 fails the node (the response is still the output)"},
	},
}

// httpTool sends one HTTP request.
type httpTool struct {
	client  *http.Client
	maxBody int64
	now     func() time.Time
}

func (*httpTool) spec() spec { return httpSpec }

func (*httpTool) Describe() flow.Tool { return httpSpec.describe() }

func (t *httpTool) Run(ctx context.Context, call Call) (any, error) {
	if err := httpSpec.validate(call.Params); err != nil {
		return nil, err
	}
	method := strings.ToUpper(strParam(call.Params, "method", "GET"))
	u, err := url.Parse(strings.TrimSpace(call.Params["url"].(string)))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, flow.Errorf(flow.EINVALID, "http: invalid params: url %q must be an absolute http:// or https:// URL", call.Params["url"])
	}
	headers := stringMap(call.Params["headers"])
	for _, k := range sortedKeys(headers) {
		if !validHeaderName(k) {
			return nil, flow.Errorf(flow.EINVALID, "http: invalid params: header name %q is not a valid HTTP token", k)
		}
		if strings.ContainsAny(headers[k], "\r\n\x00") {
			return nil, flow.Errorf(flow.EINVALID, "http: invalid params: header %q contains a line break or NUL", k)
		}
	}

	var body io.Reader
	jsonBody := false
	if b, ok := call.Params["body"]; ok && b != nil {
		if s, isStr := b.(string); isStr {
			body = strings.NewReader(s)
		} else {
			enc, err := json.Marshal(b)
			if err != nil {
				return nil, flow.Errorf(flow.EINVALID, "http: invalid params: body cannot be sent as JSON: %v", err)
			}
			body, jsonBody = bytes.NewReader(enc), true
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, flow.Errorf(flow.EINVALID, "http: invalid request: %v", err)
	}
	for _, k := range sortedKeys(headers) {
		req.Header.Set(k, headers[k])
	}
	if jsonBody && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "flowweaver")
	}

	what := method + " " + u.Redacted()
	start := t.now()
	resp, err := t.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctxError(ctx, "http: "+what)
		}
		return nil, flow.Errorf(flow.EUNAVAILABLE, "http: %s: %v", what, requestFailure(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, t.maxBody+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctxError(ctx, "http: "+what)
		}
		return nil, flow.Errorf(flow.EUNAVAILABLE, "http: %s: reading the response: %v", what, requestFailure(err))
	}
	out := map[string]any{
		"status":     resp.StatusCode,
		"statusText": http.StatusText(resp.StatusCode),
		"headers":    flatHeaders(resp.Header),
		"url":        resp.Request.URL.Redacted(),
		"durationMs": t.now().Sub(start).Milliseconds(),
	}
	truncated := int64(len(data)) > t.maxBody
	if truncated {
		data = data[:t.maxBody]
		out["truncated"] = true
	}
	out["body"], out["bodyEncoding"] = decodeBody(resp.Header.Get("Content-Type"), data, truncated)

	if boolParam(call.Params, "failOnStatus", false) && (resp.StatusCode < 200 || resp.StatusCode > 299) {
		return out, &flow.Error{
			Code:    EToolFailed,
			Message: fmt.Sprintf("http: %s returned %d %s", what, resp.StatusCode, http.StatusText(resp.StatusCode)),
			Details: map[string]any{"status": resp.StatusCode},
		}
	}
	return out, nil
}

// decodeBody returns the body as a JSON value when the response says it is
// JSON (and it is complete and parses), as text when it is UTF-8, and as
// base64 otherwise; the second value names the form.
func decodeBody(contentType string, data []byte, truncated bool) (any, string) {
	if mt, _, err := mime.ParseMediaType(contentType); err == nil && !truncated &&
		(mt == "application/json" || strings.HasSuffix(mt, "+json")) && len(bytes.TrimSpace(data)) > 0 {
		var v any
		if json.Unmarshal(data, &v) == nil {
			return v, "json"
		}
	}
	if utf8.Valid(data) {
		return string(data), "text"
	}
	return base64.StdEncoding.EncodeToString(data), "base64"
}

// flatHeaders joins repeated header values with ", " (RFC 9110 list
// syntax) so references read them as plain strings: output.headers["Content-Type"].
func flatHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[k] = strings.Join(v, ", ")
	}
	return out
}

// requestFailure drops the *url.Error wrapper, whose text repeats the URL.
func requestFailure(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return errors.New("timed out")
		}
		return ue.Err
	}
	return err
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}
