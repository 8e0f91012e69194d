package fanout_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/fanout"
	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/pgtest"
)

// BenchmarkCrossNodeDelivery: one event committed by node A (its own
// store handle) until node B's feed hands it to Publish; one at a time, so
// each op is the full NOTIFY + cursor read path. Reports p50/p99.
//
//	go test -run '^$' -bench CrossNode ./backend/fanout/
func BenchmarkCrossNodeDelivery(b *testing.B) {
	dsn := pgtest.DB(b)
	got := make(chan time.Time, 1)
	a := openNode(b, dsn, nil, fanout.Config{})
	createProject(b, a.db, "p1")
	nodeB := openNodeWith(b, dsn, func([]flow.Event) { got <- time.Now() }, fanout.Config{PollInterval: -1})
	if err := nodeB.feed.Watch(context.Background(), "p1"); err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ev := flow.NewEvent("p1", "notification", "", "", map[string]int{"i": i})
		t0 := time.Now()
		if err := a.db.AppendEvent(context.Background(), &ev); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, (<-got).Sub(t0))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
