package queue_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/queue"
	"github.com/flowweaver/flowweaver/backend/store"
)

// BenchmarkQueue measures durable jobs/s through the queue alone: b.N jobs
// are enqueued from 8 goroutines (one transaction each), claimed by the
// pool, run by a no-op handler and marked completed (one transaction per
// job, as the pool does for handlers that do not finish their own job).
func BenchmarkQueue(b *testing.B) {
	for _, workers := range []int{8, 32} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			db := openDB(b, "p1")
			q := newQueue(b, db, queue.Config{Workers: workers, ProjectLimit: -1})
			var ran atomic.Int64
			q.Handle("k", handlerFunc{work: func(ctx context.Context, j *queue.Job) error { ran.Add(1); return nil }})
			ctx := context.Background()
			if err := q.Start(ctx); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			var wg sync.WaitGroup
			for g := 0; g < 8; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					for i := g; i < b.N; i += 8 {
						err := db.Write(ctx, func(tx *store.Tx) error {
							_, err := q.Enqueue(ctx, tx, queue.NewJob{ProjectID: "p1", Kind: "k"})
							return err
						})
						if err != nil {
							b.Error(err)
							return
						}
					}
				}(g)
			}
			wg.Wait()
			for deadline := time.Now().Add(10 * time.Minute); ; {
				st, err := q.Stats(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if st.Queued == 0 && st.Running == 0 && st.Retryable == 0 && ran.Load() >= int64(b.N) {
					break
				}
				if time.Now().After(deadline) {
					b.Fatalf("stuck: %+v", st)
				}
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
			stop(b, q)
		})
	}
}

// BenchmarkQueueDrain measures how fast pools drain a backlog: b.N no-op
// jobs of 4 projects are enqueued first (500 per transaction, not timed),
// then 1 or 2 pools of 16 workers (on PostgreSQL each with its own
// connection pool, as two nodes) claim, run and complete them. The pools
// use the default per-project limit (their Workers).
func BenchmarkQueueDrain(b *testing.B) {
	for _, nodes := range []int{1, 2} {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) {
			dbs := nodeDBs(b, nodes, "p1", "p2", "p3", "p4")
			ctx := context.Background()
			var ran atomic.Int64
			var pools []*queue.Queue
			for i, db := range dbs {
				q := newQueue(b, db, queue.Config{Workers: 16, Owner: fmt.Sprintf("bench%d/1/pool", i)})
				q.Handle("k", handlerFunc{work: func(ctx context.Context, j *queue.Job) error { ran.Add(1); return nil }})
				pools = append(pools, q)
			}
			for i := 0; i < b.N; i += 500 {
				err := dbs[0].Write(ctx, func(tx *store.Tx) error {
					for k := i; k < min(i+500, b.N); k++ {
						if _, err := pools[0].Enqueue(ctx, tx, queue.NewJob{ProjectID: fmt.Sprint("p", 1+k%4), Kind: "k"}); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for _, q := range pools {
				if err := q.Start(ctx); err != nil {
					b.Fatal(err)
				}
			}
			for deadline := time.Now().Add(10 * time.Minute); ran.Load() < int64(b.N); {
				if time.Now().After(deadline) {
					b.Fatalf("stuck after %d of %d jobs", ran.Load(), b.N)
				}
				time.Sleep(time.Millisecond)
			}
			for {
				st, err := pools[0].Stats(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if st.Running == 0 && st.Queued == 0 {
					break
				}
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
			for _, q := range pools {
				stop(b, q)
			}
		})
	}
}
