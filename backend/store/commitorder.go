package store

import "github.com/flowweaver/flowweaver/backend/flow"

// commitOrder hands committed events to OnCommit in commit order on
// PostgreSQL, where writers do not share a Go lock. A transaction with
// events takes a ticket after its seqs are allocated and before COMMIT:
// the project row lock is held then, so for any one project tickets are
// taken in seq order. After COMMIT (or its failure) the ticket is
// finished, and every finished ticket at the head of the line is
// delivered. A later transaction's events therefore wait, at most for the
// one COMMIT round trip of an earlier one, never for a whole transaction.
type commitOrder struct {
	next, head uint64
	done       map[uint64][]flow.Event // finished, not yet delivered (nil: rolled back)
}

// reserveCommit takes the next ticket.
func (db *DB) reserveCommit() uint64 {
	db.mu.Lock()
	defer db.mu.Unlock()
	t := db.order.next
	db.order.next++
	return t
}

// finishCommit records the outcome of ticket t (events nil when the commit
// failed) and delivers every finished ticket at the head, in order.
func (db *DB) finishCommit(t uint64, events []flow.Event) {
	db.mu.Lock()
	defer db.mu.Unlock()
	o := &db.order
	if o.done == nil {
		o.done = map[uint64][]flow.Event{}
	}
	o.done[t] = events
	for {
		evs, ok := o.done[o.head]
		if !ok {
			return
		}
		delete(o.done, o.head)
		o.head++
		if len(evs) > 0 && db.onCommit != nil {
			db.onCommit(evs)
		}
	}
}
