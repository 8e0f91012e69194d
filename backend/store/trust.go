package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// MCPApproval is one approved MCP server entry of a project: the entry
// named Server in config file File, approved as it read when its content
// had Fingerprint.
type MCPApproval struct {
	File        string
	Server      string
	Fingerprint string
}

// SetProjectTrusted sets a project's trusted flag in tx. Revoking trust
// also forgets every MCP approval of the project, so trusting it again
// starts from a fresh review.
func (tx *Tx) SetProjectTrusted(ctx context.Context, projectID string, trusted bool) error {
	res, err := tx.ExecContext(ctx, "UPDATE projects SET trusted = ? WHERE id = ?", trusted, projectID)
	if err != nil {
		return fmt.Errorf("set project trust: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return flow.Errorf(flow.ENOTFOUND, "project %q not found", projectID)
	}
	if !trusted {
		if _, err := tx.ExecContext(ctx, "DELETE FROM mcp_approvals WHERE project_id = ?", projectID); err != nil {
			return fmt.Errorf("forget mcp approvals: %w", err)
		}
	}
	return nil
}

// ApproveMCPEntry records (or replaces) the approval of one MCP entry.
func (tx *Tx) ApproveMCPEntry(ctx context.Context, projectID string, a MCPApproval) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO mcp_approvals(project_id, file, server, fingerprint, approved_at) VALUES (?,?,?,?,?)
		ON CONFLICT(project_id, file, server) DO UPDATE SET fingerprint = excluded.fingerprint, approved_at = excluded.approved_at`,
		projectID, a.File, a.Server, a.Fingerprint, unixMilli(tx.now))
	if err != nil {
		return fmt.Errorf("approve mcp entry: %w", err)
	}
	return nil
}

// MCPApprovals returns the approved MCP entries of a project, keyed by
// file + "\x00" + server (see ApprovalKey).
func (db *DB) MCPApprovals(ctx context.Context, projectID string) (map[string]string, error) {
	rows, err := db.read.QueryContext(ctx, "SELECT file, server, fingerprint FROM mcp_approvals WHERE project_id = ?", projectID)
	if err != nil {
		return nil, fmt.Errorf("read mcp approvals: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var a MCPApproval
		if err := rows.Scan(&a.File, &a.Server, &a.Fingerprint); err != nil {
			return nil, fmt.Errorf("scan mcp approval: %w", err)
		}
		out[ApprovalKey(a.File, a.Server)] = a.Fingerprint
	}
	return out, rows.Err()
}

// ApprovalKey is the key of MCPApprovals' map.
func ApprovalKey(file, server string) string { return file + "\x00" + server }

// ProjectTrusted reads a project's trusted flag inside tx, so a trust
// change can decide on the state it replaces.
func (tx *Tx) ProjectTrusted(ctx context.Context, projectID string) (bool, error) {
	var trusted bool
	err := tx.QueryRowContext(ctx, "SELECT trusted FROM projects WHERE id = ?", projectID).Scan(&trusted)
	if errors.Is(err, sql.ErrNoRows) {
		return false, flow.Errorf(flow.ENOTFOUND, "project %q not found", projectID)
	}
	if err != nil {
		return false, fmt.Errorf("read project trust: %w", err)
	}
	return trusted, nil
}
