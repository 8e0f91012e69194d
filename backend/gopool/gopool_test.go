package gopool

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestPoolReusesIdleGoroutinesAndCloses: jobs that come one after the
// other mostly run on the same goroutine (one that has just finished may
// not be back waiting yet, so a few new ones are fine, one per job is
// not); jobs at once each get their own; close ends the idle ones and
// waits for them, and Go still runs jobs after it.
func TestPoolReusesIdleGoroutinesAndCloses(t *testing.T) {
	p := New(time.Hour) // only close can end an idle goroutine here
	const jobs = 50
	seen := map[uint64]bool{}
	for i := 0; i < jobs; i++ {
		id := make(chan uint64)
		p.Go(func() { id <- goroutineID() })
		seen[<-id] = true
	}
	if len(seen) > jobs/2 {
		t.Fatalf("%d sequential jobs ran on %d goroutines: idle ones are not reused", jobs, len(seen))
	}

	var wg sync.WaitGroup
	release := make(chan struct{})
	for i := 0; i < 3; i++ { // at once: none can wait for another
		wg.Add(1)
		p.Go(func() { defer wg.Done(); <-release })
	}
	close(release)
	wg.Wait()

	p.Close() // returns only when every goroutine of the pool has exited
	ran := make(chan struct{})
	p.Go(func() { close(ran) })
	<-ran
	p.Close()
}

// goroutineID is the calling goroutine's id, from its stack trace header
// ("goroutine 123 [running]:").
func goroutineID() uint64 {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	var id uint64
	for _, c := range buf[len("goroutine "):] {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + uint64(c-'0')
	}
	return id
}
