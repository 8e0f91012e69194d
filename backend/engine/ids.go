package engine

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"
)

// ids makes time-ordered ids: the millisecond clock and a counter in hex
// (strictly increasing within the process, so runs list in start order),
// then 6 random bytes (unique across processes). Ids that grow with time
// also make inserts into the runs and node_runs B-trees append at the end,
// so a commit touches few pages.
type ids struct {
	mu     sync.Mutex
	lastMs int64
	seq    int64
}

func (g *ids) next(prefix string, now time.Time) string {
	g.mu.Lock()
	ms := now.UnixMilli()
	if ms <= g.lastMs {
		ms = g.lastMs
		g.seq++
	} else {
		g.lastMs, g.seq = ms, 0
	}
	seq := g.seq
	g.mu.Unlock()
	var b [6]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s_%012x%04x%s", prefix, ms, seq&0xffff, hex.EncodeToString(b[:]))
}
