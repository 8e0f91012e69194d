package queue

import (
	"sync"
	"time"
)

// workerLinger is how long a job's goroutine waits for the next job
// before it exits (goPool).
const workerLinger = 5 * time.Second

// goPool runs jobs on goroutines that outlive one job. A job's handler
// calls run deep (the engine, a tool, SQLite), and a fresh goroutine grows
// (copies) its small stack on the way down every time: about 3 % of the
// server's CPU at 3,000 runs/s. A pooled goroutine keeps its stack for the
// next job and exits after idling for linger, or at close.
type goPool struct {
	linger time.Duration
	work   chan func()   // unbuffered: a send succeeds only to an idle goroutine
	quit   chan struct{} // closed by close: idle goroutines exit
	once   sync.Once
	wg     sync.WaitGroup
}

func newGoPool(linger time.Duration) *goPool {
	return &goPool{linger: linger, work: make(chan func()), quit: make(chan struct{})}
}

// Go runs fn on an idle goroutine of the pool, or on a new one.
func (p *goPool) Go(fn func()) {
	select {
	case p.work <- fn:
		return
	default:
	}
	p.wg.Add(1)
	go p.loop(fn)
}

func (p *goPool) loop(fn func()) {
	defer p.wg.Done()
	idle := time.NewTimer(p.linger)
	defer idle.Stop()
	for {
		fn()
		idle.Reset(p.linger)
		select {
		case fn = <-p.work:
		case <-idle.C:
			return
		case <-p.quit:
			return
		}
	}
}

// close makes idle goroutines exit and waits for every goroutine of the
// pool (the callers' jobs must have ended first). Go still works after it,
// on a goroutine that exits with its job.
func (p *goPool) close() {
	p.once.Do(func() { close(p.quit) })
	p.wg.Wait()
}
