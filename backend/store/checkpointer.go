package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"
)

// checkpointInterval is how long the checkpointer lets commits gather in
// the WAL before it copies them into the database file. Pages that many
// commits rewrite (the last leaf of the events table, projects.last_seq,
// the inner pages above them) are copied once per checkpoint, so a longer
// interval copies less; a shorter one keeps the WAL smaller.
const checkpointInterval = 100 * time.Millisecond

// walRestartFrames is the WAL length (frames of one page, 4 KiB) at which
// the checkpointer finishes a checkpoint with the writer held, so that the
// next commit starts the WAL again from its beginning (below). 4,000
// frames keep the WAL near 16 MiB and inside the first block of the
// WAL's index, where finding a page's latest frame is cheapest.
const walRestartFrames = 4000

// checkpointer copies the WAL into the database file on its own connection
// and goroutine. SQLite's default (wal_autocheckpoint) does it inside the
// commit that crossed 1,000 pages: the one writer stops for the copy and
// its two fsyncs, and every step queued behind that commit waits too. The
// write connection is opened with wal_autocheckpoint(0) instead, and:
//
//   - every checkpointInterval while commits come, a PASSIVE checkpoint
//     runs beside the writer (WAL allows a checkpointer next to the writer
//     and the readers) and copies what was committed so far;
//   - a WAL only starts again from its beginning when a commit finds every
//     frame of it copied, which never happens while the writer keeps
//     appending beside the checkpointer: the WAL would grow without bound
//     under steady load. So once it is walRestartFrames long, the
//     checkpointer holds the writer's lock for a second PASSIVE checkpoint,
//     which copies only the frames committed during the first one. The
//     writer waits for that short pass (and its fsyncs) about once per
//     16 MiB written instead of for a whole copy per 4 MiB.
type checkpointer struct {
	conn          *sql.DB
	writer        sync.Locker // DB.mu: holds the writer for the finishing pass
	interval      time.Duration
	restartFrames int
	kick          chan struct{} // (1) a commit happened since the last checkpoint
	stop          chan struct{}
	done          chan struct{}

	mu     sync.Mutex
	failed error // the last background checkpoint that failed since takeErr

	closeOnce sync.Once
	closeErr  error
}

func newCheckpointer(conn *sql.DB, writer sync.Locker, interval time.Duration, restartFrames int) *checkpointer {
	c := &checkpointer{conn: conn, writer: writer, interval: interval, restartFrames: restartFrames,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
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
		if err := c.checkpoint(context.Background(), c.restartFrames); err != nil {
			c.mu.Lock()
			c.failed = err
			c.mu.Unlock()
		}
	}
}

// checkpoint copies the WAL into the database file beside the writer and,
// when the WAL holds at least restartFrames frames, finishes with the
// writer held so the next commit restarts the WAL.
func (c *checkpointer) checkpoint(ctx context.Context, restartFrames int) error {
	frames, err := c.passive(ctx)
	if err != nil || frames < restartFrames { // restartFrames ≥ 1: an empty WAL needs no restart
		return err
	}
	c.writer.Lock()
	defer c.writer.Unlock()
	_, err = c.passive(ctx)
	return err
}

// passive runs one PASSIVE checkpoint, which copies every frame no reader
// still needs and never waits for the writer or a reader, and returns the
// length of the WAL in frames.
func (c *checkpointer) passive(ctx context.Context) (frames int, err error) {
	var busy, copied int
	if err := c.conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied); err != nil {
		return 0, fmt.Errorf("checkpoint the WAL: %w", err)
	}
	return frames, nil
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
// closes the connection. Like DB.Close it may be called more than once.
func (c *checkpointer) close() error {
	c.closeOnce.Do(func() {
		close(c.stop)
		<-c.done
		c.closeErr = c.conn.Close()
	})
	return c.closeErr
}
