package store

import "strings"

// Running claims known to the single writer (SQLite).
//
// Every step the engine writes for a job first checks that the job's
// claim (id, attempt, owner) is still the running one (JobLeaseHeld):
// that fencing keeps a zombie worker from writing over a newer attempt.
// As a query it was about a tenth of the server's CPU on a chain of quick
// nodes: one SELECT per step, most of it database/sql's per-query cost.
//
// On SQLite every write goes through this DB's one write connection (one
// process per data directory, behind its lock: the same assumption as the
// last_seq cache in events.go), so the store sees every change of a claim
// it makes itself: ClaimJobs and InsertJob create claims, FinishJob ends
// them (the worker's end, the rescuer's, the hand-back at shutdown), and
// nothing else moves a running job. The DB keeps the claims it knows to be
// running, and JobLeaseHeld answers a known claim from memory. The cache
// only holds positive knowledge: a claim it does not know, or knows with
// another attempt or owner, is looked up with the query as before (and a
// held claim found that way is remembered).
//
// Changes are kept per transaction and applied when it commits; a rollback
// drops them. A transaction that runs SQL the store does not track and
// that names jobs or projects (deleting a project deletes its jobs) forgets
// every known claim when it commits, so the next check of each job asks
// the database again. On PostgreSQL several processes share the database:
// there is no cache and every check is the query.

// claim is a running job's (attempt, owner).
type claim struct {
	attempt int
	owner   string
}

// claimCache tracks claims; the DB's copy is guarded by DB.mu (held by
// every SQLite write transaction).
type claimCache map[int64]claim

// claimed records in tx that job id is running for (attempt, owner).
func (tx *Tx) claimed(id int64, attempt int, owner string) {
	if tx.db.dialect != SQLite {
		return
	}
	if tx.claims == nil {
		tx.claims = map[int64]*claim{}
	}
	tx.claims[id] = &claim{attempt: attempt, owner: owner}
}

// unclaimed records in tx that job id is no longer running.
func (tx *Tx) unclaimed(id int64) {
	if tx.db.dialect != SQLite {
		return
	}
	if tx.claims == nil {
		tx.claims = map[int64]*claim{}
	}
	tx.claims[id] = nil
}

// knownHeld reports whether (id, attempt, owner) is known to be the
// running claim as of this transaction; false means "ask the database".
func (tx *Tx) knownHeld(id int64, attempt int, owner string) bool {
	if tx.db.dialect != SQLite || tx.claimsUnknown {
		return false
	}
	c, ok := tx.claims[id]
	if !ok {
		cc, ok := tx.db.claims[id]
		if !ok {
			return false
		}
		c = &cc
	}
	return c != nil && c.attempt == attempt && c.owner == owner
}

// commitClaims applies the transaction's claim changes to the DB's cache
// once it committed. Write calls it with DB.mu held.
func (tx *Tx) commitClaims() {
	if tx.claimsUnknown {
		tx.db.claims = claimCache{}
		return
	}
	for id, c := range tx.claims {
		if c == nil {
			delete(tx.db.claims, id)
		} else {
			tx.db.claims[id] = *c
		}
	}
}

// untracked notes SQL run through the plain sql.Tx methods: one that may
// change jobs (directly, or by deleting a project) makes the cache forget
// everything at commit.
func (tx *Tx) untracked(q string) {
	if tx.db.dialect == SQLite && !tx.claimsUnknown && (containsFold(q, "jobs") || containsFold(q, "delete") && containsFold(q, "projects")) {
		tx.claimsUnknown = true
	}
}

// containsFold reports whether s contains the lower-case ASCII word sub in
// any case.
func containsFold(s, sub string) bool {
	n := len(sub)
	for i := 0; i+n <= len(s); i++ {
		if strings.EqualFold(s[i:i+n], sub) {
			return true
		}
	}
	return false
}
