package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/store"
	"github.com/flowweaver/flowweaver/backend/store/storetest"
)

// Browser sessions on both backends: created once, listed most recently
// seen first, last seen only moves forward, revoked ones drop out of the
// list and are reported once, old ones are pruned.
func TestSessionsLifecycle(t *testing.T) {
	db := storetest.Open(t, store.Options{})
	ctx := context.Background()
	t0 := time.UnixMilli(time.Now().UnixMilli()).UTC()
	for i, id := range []string{"a", "b", "c"} {
		if err := db.CreateSession(ctx, store.Session{ID: id, UserAgent: "ua-" + id, CreatedAt: t0.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	// A retried create keeps the first record.
	if err := db.CreateSession(ctx, store.Session{ID: "a", UserAgent: "other", CreatedAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := db.TouchSessions(ctx, map[string]time.Time{"a": t0.Add(10 * time.Minute), "b": t0.Add(-time.Hour), "cli-token": t0}); err != nil {
		t.Fatal(err)
	}
	list, err := db.Sessions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range list {
		ids = append(ids, s.ID)
	}
	if !slices.Equal(ids, []string{"a", "c", "b"}) || list[0].UserAgent != "ua-a" || !list[0].LastSeenAt.Equal(t0.Add(10*time.Minute)) || !list[2].LastSeenAt.Equal(t0.Add(time.Second)) {
		t.Fatalf("sessions: %+v", list)
	}
	done, err := db.RevokeSessions(ctx, []string{"b", "nope"}, t0.Add(2*time.Minute))
	if err != nil || !slices.Equal(done, []string{"b"}) {
		t.Fatalf("revoke: %v %v", done, err)
	}
	if done, _ := db.RevokeSessions(ctx, []string{"b"}, t0.Add(3*time.Minute)); len(done) != 0 {
		t.Fatalf("revoked twice: %v", done)
	}
	if rev, err := db.RevokedSessionIDs(ctx); err != nil || !slices.Equal(rev, []string{"b"}) {
		t.Fatalf("revoked ids: %v %v", rev, err)
	}
	if list, _ := db.Sessions(ctx); len(list) != 2 {
		t.Fatalf("a revoked session is listed: %+v", list)
	}
	// Revoked b (at +2m) and c (last seen at +2s) are older than +150s; a (+10m) stays.
	n, err := db.PruneSessions(ctx, t0.Add(150*time.Second))
	if err != nil || n != 2 {
		t.Fatalf("prune: %d %v", n, err)
	}
	if list, _ := db.Sessions(ctx); len(list) != 1 || list[0].ID != "a" {
		t.Fatalf("after prune: %+v", list)
	}
}
