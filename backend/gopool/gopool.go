// Package gopool runs short tasks on goroutines that outlive one task.
//
// Flow Weaver's jobs and nodes call deep (the engine, a tool, SQLite), and a
// fresh goroutine starts with a small stack that is grown (copied) on the
// way down every time: at a few thousand runs per second that was several
// percent of the server's CPU. A pooled goroutine keeps its grown stack for
// the next task and exits after idling for a while, or at Close.
package gopool

import (
	"sync"
	"time"
)

// Pool runs tasks on its goroutines. The zero value is not usable: use New.
type Pool struct {
	linger time.Duration
	work   chan func()   // unbuffered: a send succeeds only to an idle goroutine
	quit   chan struct{} // closed by close: idle goroutines exit
	once   sync.Once
	wg     sync.WaitGroup
}

// New returns a pool whose idle goroutines exit after linger.
func New(linger time.Duration) *Pool {
	return &Pool{linger: linger, work: make(chan func()), quit: make(chan struct{})}
}

// Go runs fn on an idle goroutine of the pool, or on a new one.
func (p *Pool) Go(fn func()) {
	select {
	case p.work <- fn:
		return
	default:
	}
	p.wg.Add(1)
	go p.loop(fn)
}

func (p *Pool) loop(fn func()) {
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

// Close makes idle goroutines exit and waits for every goroutine of the
// pool, so the caller's tasks must have ended or be ending. Go still works
// after it, on a goroutine that exits with its task.
func (p *Pool) Close() {
	p.once.Do(func() { close(p.quit) })
	p.wg.Wait()
}
