package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// api is a small client of the REST API of the process the command talks
// to. Tokens are minted from the data dir's key on demand, so a long run
// never outlives its token and a restarted server accepts the next one.
type api struct {
	base  string
	token func() (string, error)
	http  *http.Client
	// who and pid name the process for messages.
	who string
	pid int
}

// apiError is a JSON error answer: {"error", "message", "problems"}.
type apiError struct {
	Status   int       `json:"-"`
	Code     string    `json:"error"`
	Message  string    `json:"message"`
	Problems []problem `json:"problems"`
}

// problem is one validation problem of a workflow.
type problem struct {
	Field   string `json:"field"`
	Node    string `json:"node"`
	Message string `json:"message"`
}

func (p problem) String() string {
	where := p.Field
	if p.Node != "" {
		where = "node " + p.Node
		if p.Field != "" {
			where += " (" + p.Field + ")"
		}
	}
	if where == "" {
		return p.Message
	}
	return where + ": " + p.Message
}

func (e *apiError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("server answered %d %s", e.Status, e.Code)
	}
	return e.Message
}

// project is the part of the project JSON the command line needs.
// Trusted is nil when the server does not know trust.
type project struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Path    string `json:"path"`
	Trusted *bool  `json:"trusted"`
}

// runInfo is the part of the run JSON the command line reads; the full
// JSON is kept for --json.
type runInfo struct {
	ID         string     `json:"id"`
	ProjectID  string     `json:"projectId"`
	WorkflowID string     `json:"workflowId"`
	Status     string     `json:"status"`
	Error      string     `json:"error"`
	CreatedAt  time.Time  `json:"createdAt"`
	StartedAt  *time.Time `json:"startedAt"`
	FinishedAt *time.Time `json:"finishedAt"`
	Nodes      []nodeInfo `json:"nodes"`
}

type nodeInfo struct {
	NodeID     string `json:"nodeId"`
	Status     string `json:"status"`
	Attempt    int    `json:"attempt"`
	DurationMs int64  `json:"durationMs"`
	Error      string `json:"error"`
}

func terminal(status string) bool {
	return status == "succeeded" || status == "failed" || status == "canceled"
}

// do sends a JSON request and decodes a 2xx answer into out (when not
// nil); other answers become *apiError.
func (a *api) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return err
	}
	tok, err := a.token()
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := a.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if res.StatusCode/100 != 2 {
		ae := &apiError{Status: res.StatusCode}
		if json.Unmarshal(b, ae) != nil || ae.Code == "" {
			ae.Code = http.StatusText(res.StatusCode)
			ae.Message = strings.TrimSpace(string(b))
		}
		return ae
	}
	if out == nil {
		return nil
	}
	if raw, ok := out.(*json.RawMessage); ok {
		*raw = append((*raw)[:0], b...)
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

func (a *api) health(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+"/api/health", nil)
	if err != nil {
		return err
	}
	res, err := a.http.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("health check answered %s", res.Status)
	}
	return nil
}

func (a *api) projects(ctx context.Context) ([]project, error) {
	var out struct {
		Projects []project `json:"projects"`
	}
	err := a.do(ctx, http.MethodGet, "/api/projects", nil, &out)
	return out.Projects, err
}

func (a *api) createProject(ctx context.Context, name, path string, trusted bool) (*project, error) {
	var p project
	err := a.do(ctx, http.MethodPost, "/api/projects", map[string]any{"name": name, "path": path, "trusted": trusted}, &p)
	return &p, err
}

func (a *api) setTrust(ctx context.Context, id string, trusted bool) (*project, error) {
	var p project
	err := a.do(ctx, http.MethodPut, "/api/projects/"+url.PathEscape(id)+"/trust", map[string]any{"trusted": trusted}, &p)
	return &p, err
}

func (a *api) startRun(ctx context.Context, projectID, workflowID string, inputs map[string]any) (string, error) {
	var out struct {
		RunID string `json:"runId"`
	}
	path := "/api/projects/" + url.PathEscape(projectID) + "/workflows/" + url.PathEscape(workflowID) + "/runs"
	err := a.do(ctx, http.MethodPost, path, map[string]any{"inputs": inputs}, &out)
	return out.RunID, err
}

// run returns the run as parsed and as the server sent it.
func (a *api) run(ctx context.Context, runID string) (*runInfo, json.RawMessage, error) {
	var raw json.RawMessage
	if err := a.do(ctx, http.MethodGet, "/api/runs/"+url.PathEscape(runID), nil, &raw); err != nil {
		return nil, nil, err
	}
	var r runInfo
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, nil, fmt.Errorf("decode run: %w", err)
	}
	return &r, raw, nil
}

func (a *api) cancelRun(ctx context.Context, runID string) error {
	return a.do(ctx, http.MethodPost, "/api/runs/"+url.PathEscape(runID)+"/cancel", nil, nil)
}

func (a *api) listRuns(ctx context.Context, projectID string, limit int) (json.RawMessage, []runInfo, error) {
	var raw json.RawMessage
	path := "/api/projects/" + url.PathEscape(projectID) + "/runs?limit=" + strconv.Itoa(limit)
	if err := a.do(ctx, http.MethodGet, path, nil, &raw); err != nil {
		return nil, nil, err
	}
	var page struct {
		Runs []runInfo `json:"runs"`
	}
	if err := json.Unmarshal(raw, &page); err != nil {
		return nil, nil, fmt.Errorf("decode runs: %w", err)
	}
	return raw, page.Runs, nil
}

// events reads the event log of one channel after seq since (one page).
func (a *api) events(ctx context.Context, projectID, channel string, since int64) ([]event, error) {
	var out struct {
		Events []event `json:"events"`
	}
	path := "/api/projects/" + url.PathEscape(projectID) + "/events?channel=" + url.QueryEscape(channel) +
		"&since=" + strconv.FormatInt(since, 10) + "&limit=1000"
	err := a.do(ctx, http.MethodGet, path, nil, &out)
	return out.Events, err
}

// trustReview is what trusting a project would allow, as the server
// reads it from the folder (nothing expanded, nothing started).
type trustReview struct {
	Workflows []struct {
		ID       string   `json:"id"`
		Tools    []string `json:"tools"`
		Commands []string `json:"commands"`
	} `json:"workflows"`
	MCPServers []struct {
		Server    string   `json:"server"`
		File      string   `json:"file"`
		Command   string   `json:"command"`
		Args      []string `json:"args"`
		URL       string   `json:"url"`
		Env       []string `json:"env"`
		Variables []string `json:"variables"`
	} `json:"mcpServers"`
}

func (a *api) trustReview(ctx context.Context, projectID string) (*trustReview, error) {
	var rv trustReview
	err := a.do(ctx, http.MethodGet, "/api/projects/"+url.PathEscape(projectID)+"/trust", nil, &rv)
	return &rv, err
}
