package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// queueStats is the part of GET /api/queue the quit check reads.
type queueStats struct {
	Queued  *int `json:"queued"`
	Running *int `json:"running"`
}

// activeRuns asks the backend how many runs are queued or running. The
// backend is the authority: it also counts runs started by scripts, the
// REST API or another window, which the UI of this window cannot know.
func activeRuns(ctx context.Context, client *http.Client, baseURL, token string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(baseURL, "/")+"/api/queue", nil)
	if err != nil {
		return 0, fmt.Errorf("ask queue: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("ask queue: %w", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return 0, fmt.Errorf("ask queue: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("ask queue: %s: %s", res.Status, strings.TrimSpace(string(body)))
	}
	var st queueStats
	if err := json.Unmarshal(body, &st); err != nil {
		return 0, fmt.Errorf("ask queue: decode: %w", err)
	}
	if st.Queued == nil || st.Running == nil {
		return 0, fmt.Errorf("ask queue: answer lacks queued/running: %s", strings.TrimSpace(string(body)))
	}
	return *st.Queued + *st.Running, nil
}

// quitQuestion is the text of the confirmation shown when the window is
// closed with runs in flight.
func quitQuestion(n int) string {
	runs := "1 run is"
	if n != 1 {
		runs = fmt.Sprintf("%d runs are", n)
	}
	return runs + " still queued or running.\n\nQuit anyway? Running steps are stopped; the runs go back to the queue and continue the next time Flow Weaver starts."
}

// tokenForCheck is the lifetime of the token the quit check mints.
const tokenForCheck = time.Minute
