package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// TriggerKey names one trigger of one workflow of one project.
type TriggerKey struct {
	ProjectID  string
	WorkflowID string
	TriggerID  string
}

// ScheduleSlot is the durable state of a schedule trigger.
type ScheduleSlot struct {
	TriggerKey
	Spec    string
	NextAt  time.Time
	FiredAt *time.Time
}

// ErrSlotTaken is returned by ClaimSlot when the slot was already claimed
// (by an earlier attempt, or by another process on the same database).
var ErrSlotTaken = errors.New("schedule slot already claimed")

// ScheduleSlots returns the stored slots of a project.
func (db *DB) ScheduleSlots(ctx context.Context, projectID string) ([]ScheduleSlot, error) {
	rows, err := db.read.QueryContext(ctx,
		`SELECT project_id, workflow_id, trigger_id, spec, next_at, fired_at FROM trigger_schedules WHERE project_id = ? ORDER BY workflow_id, trigger_id`, projectID)
	if err != nil {
		return nil, fmt.Errorf("read schedule slots: %w", err)
	}
	defer rows.Close()
	var out []ScheduleSlot
	for rows.Next() {
		var s ScheduleSlot
		var next int64
		var fired sql.NullInt64
		if err := rows.Scan(&s.ProjectID, &s.WorkflowID, &s.TriggerID, &s.Spec, &next, &fired); err != nil {
			return nil, fmt.Errorf("scan schedule slot: %w", err)
		}
		s.NextAt, s.FiredAt = fromMilli(next), nullTime(fired)
		out = append(out, s)
	}
	return out, rows.Err()
}

// PutScheduleSlot stores a schedule's spec and next slot (a new schedule,
// or one whose spec changed).
func (db *DB) PutScheduleSlot(ctx context.Context, k TriggerKey, spec string, next time.Time) error {
	return db.Write(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `INSERT INTO trigger_schedules(project_id, workflow_id, trigger_id, spec, next_at) VALUES (?,?,?,?,?)
			ON CONFLICT(project_id, workflow_id, trigger_id) DO UPDATE SET spec = excluded.spec, next_at = excluded.next_at`,
			k.ProjectID, k.WorkflowID, k.TriggerID, spec, unixMilli(next))
		if err != nil {
			return fmt.Errorf("store schedule slot: %w", err)
		}
		return nil
	})
}

// ClaimSlot moves a schedule from slot from to next, in tx: it succeeds
// only while the stored slot is still from (and the spec unchanged), else
// it returns ErrSlotTaken and writes nothing. Calling it in the transaction
// that inserts the slot's run is what makes a slot fire at most once.
func (tx *Tx) ClaimSlot(ctx context.Context, k TriggerKey, spec string, from, next time.Time) error {
	res, err := tx.exec(ctx, `UPDATE trigger_schedules SET next_at = ?, fired_at = ? WHERE project_id = ? AND workflow_id = ? AND trigger_id = ? AND next_at = ? AND spec = ?`,
		unixMilli(next), unixMilli(tx.now), k.ProjectID, k.WorkflowID, k.TriggerID, unixMilli(from), spec)
	if err != nil {
		return fmt.Errorf("claim schedule slot: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return ErrSlotTaken
	}
	return nil
}

// DeleteScheduleSlots forgets the schedules of a project except keep
// (workflow id + "/" + trigger id): a schedule that was removed, switched
// off or lost its project's trust starts over when it comes back, instead
// of firing for the slots in between.
func (db *DB) DeleteScheduleSlots(ctx context.Context, projectID string, keep map[string]bool) error {
	slots, err := db.ScheduleSlots(ctx, projectID)
	if err != nil {
		return err
	}
	var gone []ScheduleSlot
	for _, s := range slots {
		if !keep[s.WorkflowID+"/"+s.TriggerID] {
			gone = append(gone, s)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	return db.Write(ctx, func(tx *Tx) error {
		for _, s := range gone {
			if _, err := tx.exec(ctx, `DELETE FROM trigger_schedules WHERE project_id = ? AND workflow_id = ? AND trigger_id = ?`,
				s.ProjectID, s.WorkflowID, s.TriggerID); err != nil {
				return fmt.Errorf("delete schedule slot: %w", err)
			}
		}
		return nil
	})
}

// newWebhookKey returns 32 bytes from the CSPRNG, base64url: 256 bits, the
// only credential of a webhook URL.
func newWebhookKey() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("make webhook key: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// WebhookKey returns the key of a webhook trigger, creating it on first use.
func (db *DB) WebhookKey(ctx context.Context, k TriggerKey) (string, error) {
	var key string
	err := db.read.QueryRowContext(ctx, `SELECT key FROM webhook_keys WHERE project_id = ? AND workflow_id = ? AND trigger_id = ?`,
		k.ProjectID, k.WorkflowID, k.TriggerID).Scan(&key)
	if err == nil {
		return key, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("read webhook key: %w", err)
	}
	fresh, err := newWebhookKey()
	if err != nil {
		return "", err
	}
	err = db.Write(ctx, func(tx *Tx) error {
		// Another caller may have created it meanwhile: keep theirs.
		if _, err := tx.exec(ctx, `INSERT INTO webhook_keys(key, project_id, workflow_id, trigger_id, created_at) VALUES (?,?,?,?,?)
			ON CONFLICT(project_id, workflow_id, trigger_id) DO NOTHING`, fresh, k.ProjectID, k.WorkflowID, k.TriggerID, unixMilli(tx.now)); err != nil {
			if isForeignKey(err) {
				return flow.Errorf(flow.ENOTFOUND, "project %q not found", k.ProjectID)
			}
			return fmt.Errorf("create webhook key: %w", err)
		}
		return tx.queryRow(ctx, `SELECT key FROM webhook_keys WHERE project_id = ? AND workflow_id = ? AND trigger_id = ?`,
			k.ProjectID, k.WorkflowID, k.TriggerID).Scan(&key)
	})
	return key, err
}

// RotateWebhookKey replaces a webhook trigger's key; the old URL stops
// working at once.
func (db *DB) RotateWebhookKey(ctx context.Context, k TriggerKey) (string, error) {
	fresh, err := newWebhookKey()
	if err != nil {
		return "", err
	}
	err = db.Write(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `DELETE FROM webhook_keys WHERE project_id = ? AND workflow_id = ? AND trigger_id = ?`,
			k.ProjectID, k.WorkflowID, k.TriggerID); err != nil {
			return fmt.Errorf("rotate webhook key: %w", err)
		}
		if _, err := tx.exec(ctx, `INSERT INTO webhook_keys(key, project_id, workflow_id, trigger_id, created_at) VALUES (?,?,?,?,?)`,
			fresh, k.ProjectID, k.WorkflowID, k.TriggerID, unixMilli(tx.now)); err != nil {
			if isForeignKey(err) {
				return flow.Errorf(flow.ENOTFOUND, "project %q not found", k.ProjectID)
			}
			return fmt.Errorf("rotate webhook key: %w", err)
		}
		return nil
	})
	return fresh, err
}

// WebhookByKey finds the trigger a webhook key belongs to; an unknown key
// is not_found.
func (db *DB) WebhookByKey(ctx context.Context, key string) (TriggerKey, error) {
	var k TriggerKey
	st, err := db.readStmt(ctx, `SELECT project_id, workflow_id, trigger_id FROM webhook_keys WHERE key = ?`)
	if err != nil {
		return k, fmt.Errorf("read webhook key: %w", err)
	}
	err = st.QueryRowContext(ctx, key).Scan(&k.ProjectID, &k.WorkflowID, &k.TriggerID)
	if errors.Is(err, sql.ErrNoRows) {
		return k, flow.Errorf(flow.ENOTFOUND, "no webhook with this key")
	}
	if err != nil {
		return k, fmt.Errorf("read webhook key: %w", err)
	}
	return k, nil
}

func isForeignKey(err error) bool {
	return err != nil && strings.Contains(strings.ToUpper(err.Error()), "FOREIGN KEY")
}
