package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Node is one Flow Weaver server process working the database (table
// nodes). On PostgreSQL every node heartbeats its row; a node whose
// heartbeat is older than the stale limit is considered dead, and the
// queue's rescuer takes its jobs back.
type Node struct {
	ID          string          `json:"id"` // the node's queue owner id
	Host        string          `json:"host"`
	PID         int             `json:"pid"`
	Addr        string          `json:"addr,omitempty"` // its HTTP address, when it reported one
	StartedAt   time.Time       `json:"startedAt"`
	HeartbeatAt time.Time       `json:"heartbeatAt"`
	Paths       []string        `json:"paths"`          // project folders it can see; nil = every project
	Info        json.RawMessage `json:"info,omitempty"` // what the node reports about itself
	Alive       bool            `json:"alive"`
}

// BeatNode records that node id is alive now (the database's clock),
// creating its row on the first beat. On PostgreSQL the beat also
// re-measures the offset of the database clock (DB.Now).
func (db *DB) BeatNode(ctx context.Context, id, host string, pid int) error {
	if db.dialect != Postgres {
		return db.Write(ctx, func(tx *Tx) error {
			now := unixMilli(tx.now)
			_, err := tx.ExecContext(ctx, `INSERT INTO nodes(id, host, pid, started_at, heartbeat_at) VALUES (?,?,?,?,?)
				ON CONFLICT(id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`, id, host, pid, now, now)
			if err != nil {
				return fmt.Errorf("node heartbeat: %w", err)
			}
			return nil
		})
	}
	t0 := db.opts.Now()
	var ms int64
	err := db.write.QueryRowContext(ctx, `INSERT INTO nodes(id, host, pid, started_at, heartbeat_at)
		VALUES ($1, $2, $3, (extract(epoch FROM clock_timestamp()) * 1000)::bigint, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)
		ON CONFLICT(id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at RETURNING heartbeat_at`, id, host, pid).Scan(&ms)
	if err != nil {
		return fmt.Errorf("node heartbeat: %w", err)
	}
	db.setClock(fromMilli(ms), t0, db.opts.Now())
	return nil
}

// SetNodeInfo records what node id advertises: its HTTP address, the
// project folders it can see (nil: every project; the PostgreSQL claim
// gives a node only jobs of projects whose path it lists) and free-form
// JSON info. The node must have beaten once.
func (db *DB) SetNodeInfo(ctx context.Context, id, addr string, paths []string, info json.RawMessage) error {
	rawPaths := ""
	if paths != nil {
		b, err := json.Marshal(paths)
		if err != nil {
			return fmt.Errorf("encode node paths: %w", err)
		}
		rawPaths = string(b)
	}
	if len(info) == 0 {
		info = json.RawMessage("{}")
	}
	return db.Write(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE nodes SET addr = ?, paths = ?, info = ? WHERE id = ?", addr, rawPaths, string(info), id)
		if err != nil {
			return fmt.Errorf("set node info: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("set node info: node %q has no heartbeat yet", id)
		}
		return nil
	})
}

// DeleteNode forgets a node that stopped cleanly.
func (db *DB) DeleteNode(ctx context.Context, id string) error {
	return db.Write(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM nodes WHERE id = ?", id); err != nil {
			return fmt.Errorf("delete node: %w", err)
		}
		return nil
	})
}

// Nodes lists the nodes, oldest first; Alive is a heartbeat newer than
// staleAfter (by the database's clock).
func (db *DB) Nodes(ctx context.Context, staleAfter time.Duration) ([]Node, error) {
	rows, err := db.read.QueryContext(ctx, "SELECT id, host, pid, addr, started_at, heartbeat_at, paths, info FROM nodes ORDER BY started_at, id")
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	defer rows.Close()
	limit := db.Now().Add(-staleAfter)
	var out []Node
	for rows.Next() {
		var n Node
		var started, beat int64
		var paths, info string
		if err := rows.Scan(&n.ID, &n.Host, &n.PID, &n.Addr, &started, &beat, &paths, &info); err != nil {
			return nil, fmt.Errorf("scan node: %w", err)
		}
		n.StartedAt, n.HeartbeatAt = fromMilli(started), fromMilli(beat)
		n.Alive = !n.HeartbeatAt.Before(limit)
		n.Info = json.RawMessage(info)
		if paths != "" {
			if err := json.Unmarshal([]byte(paths), &n.Paths); err != nil {
				return nil, fmt.Errorf("node %s: paths: %w", n.ID, err)
			}
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// LiveNodes returns, inside tx, the ids of the nodes whose heartbeat is
// newer than staleAfter. The rescuer reads it after the running jobs, in
// the same transaction: a job it sees was claimed after its owner's first
// beat, so a new node is never mistaken for a dead one.
func (tx *Tx) LiveNodes(ctx context.Context, staleAfter time.Duration) (map[string]bool, error) {
	rows, err := tx.QueryContext(ctx, "SELECT id FROM nodes WHERE heartbeat_at >= ?", unixMilli(tx.db.Now().Add(-staleAfter)))
	if err != nil {
		return nil, fmt.Errorf("list live nodes: %w", err)
	}
	defer rows.Close()
	live := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("scan node: %w", err)
		}
		live[id] = true
	}
	return live, rows.Err()
}
