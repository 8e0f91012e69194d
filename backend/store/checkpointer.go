package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"
)

// checkpointInterval is how long the checkpointer lets commits gather in
// the WAL before it folds them into the database file. Pages that many
// commits rewrite (the last leaf of the events table, projects.last_seq,
// the inner pages above them) are copied once per checkpoint, so a longer
// interval copies less; a shorter one keeps the WAL smaller. At the write
// rates of a busy server (tens of MB/s of WAL) 100 ms keeps it to a few MB.
const checkpointInterval = 100 * time.Millisecond

// checkpointer folds the WAL into the database file on its own connection
// and goroutine. SQLite's default (wal_autocheckpoint) does it inside the
// commit that crossed 1,000 pages: the one writer stops for the copy and
// its fsyncs, and every step waiting behind that commit waits too. A
// PASSIVE checkpoint on another connection runs beside the writer instead
// (WAL allows one checkpointer next to one writer and any readers), so the
// write connection is opened with wal_autocheckpoint(0).
//
// The writer calls committed after each commit, which costs one
// non-blocking channel send; the goroutine then waits checkpointInterval
// and checkpoints what the commits of that interval wrote.
type checkpointer struct {
	conn     *sql.DB
	interval time.Duration
	kick     chan struct{} // (1) a commit happened since the last checkpoint
	stop     chan struct{}
	done     chan struct{}

	mu     sync.Mutex
	failed error // the last background checkpoint that failed since takeErr
}

func newCheckpointer(conn *sql.DB, interval time.Duration) *checkpointer {
	c := &checkpointer{conn: conn, interval: interval, kick: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	go c.loop()
	return c
}

// committed tells the checkpointer that the WAL grew. It never blocks.
func (c *checkpointer) committed() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *checkpointer) loop() {
	defer close(c.done)
	t := time.NewTimer(c.interval)
	t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-c.kick:
		}
		t.Reset(c.interval)
		select {
		case <-c.stop:
			t.Stop()
			return
		case <-t.C:
		}
		if err := c.checkpoint(context.Background()); err != nil {
			c.mu.Lock()
			c.failed = err
			c.mu.Unlock()
		}
	}
}

// checkpoint runs one PASSIVE checkpoint: it copies every frame no reader
// still needs and never waits for the writer or the readers.
func (c *checkpointer) checkpoint(ctx context.Context) error {
	if _, err := c.conn.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
		return fmt.Errorf("checkpoint the WAL: %w", err)
	}
	return nil
}

// takeErr returns the last failure of a background checkpoint since the
// previous call, and forgets it.
func (c *checkpointer) takeErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.failed
	c.failed = nil
	return err
}

// close stops the goroutine (a checkpoint in progress ends first) and
// closes the connection.
func (c *checkpointer) close() error {
	close(c.stop)
	<-c.done
	return c.conn.Close()
}
