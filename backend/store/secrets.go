package store

import (
	"context"
	"fmt"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// SecretRow is one stored secret: its value only as nonce and ciphertext.
type SecretRow struct {
	ProjectID  string
	Name       string
	Nonce      []byte
	Ciphertext []byte
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// PutSecret inserts or replaces a secret. An unknown project is not_found.
func (db *DB) PutSecret(ctx context.Context, s *SecretRow) error {
	return db.Write(ctx, func(tx *Tx) error {
		now := unixMilli(tx.now)
		_, err := tx.ExecContext(ctx, `INSERT INTO secrets(project_id, name, nonce, ciphertext, created_at, updated_at) VALUES (?,?,?,?,?,?)
			ON CONFLICT(project_id, name) DO UPDATE SET nonce = excluded.nonce, ciphertext = excluded.ciphertext, updated_at = excluded.updated_at`,
			s.ProjectID, s.Name, s.Nonce, s.Ciphertext, now, now)
		if isForeignKeyViolation(err) {
			return flow.Errorf(flow.ENOTFOUND, "project %q not found", s.ProjectID)
		}
		if err != nil {
			return fmt.Errorf("write secret: %w", err)
		}
		s.UpdatedAt = tx.now
		return nil
	})
}

// DeleteSecret removes a secret; a missing one is not_found.
func (db *DB) DeleteSecret(ctx context.Context, projectID, name string) error {
	return db.Write(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM secrets WHERE project_id = ? AND name = ?", projectID, name)
		if err != nil {
			return fmt.Errorf("delete secret: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return flow.Errorf(flow.ENOTFOUND, "secret %s not found", name)
		}
		return nil
	})
}

// Secrets lists a project's secrets by name (with their ciphertexts).
func (db *DB) Secrets(ctx context.Context, projectID string) ([]SecretRow, error) {
	// Every run execution reads its project's secrets (for masking, even
	// when it uses none): a cached statement saves a prepare per run.
	st, err := db.readStmt(ctx, "SELECT name, nonce, ciphertext, created_at, updated_at FROM secrets WHERE project_id = ? ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	rows, err := st.QueryContext(ctx, projectID)
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	defer rows.Close()
	var out []SecretRow
	for rows.Next() {
		s := SecretRow{ProjectID: projectID}
		var created, updated int64
		if err := rows.Scan(&s.Name, &s.Nonce, &s.Ciphertext, &created, &updated); err != nil {
			return nil, fmt.Errorf("scan secret: %w", err)
		}
		s.CreatedAt, s.UpdatedAt = fromMilli(created), fromMilli(updated)
		out = append(out, s)
	}
	return out, rows.Err()
}

// HasSecrets reports whether any project has a secret (the secrets key may
// only be created while none is stored).
func (db *DB) HasSecrets(ctx context.Context) (bool, error) {
	var n int
	if err := db.read.QueryRowContext(ctx, "SELECT COUNT(*) FROM (SELECT 1 FROM secrets LIMIT 1) s").Scan(&n); err != nil {
		return false, fmt.Errorf("count secrets: %w", err)
	}
	return n == 1, nil
}
