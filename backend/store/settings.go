package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Setting returns the value stored under key, or nil when there is none.
func (db *DB) Setting(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	err := db.read.QueryRowContext(ctx, "SELECT value FROM settings WHERE key = ?", key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read setting %s: %w", key, err)
	}
	return v, nil
}

// SetSetting stores value under key.
func (db *DB) SetSetting(ctx context.Context, key string, value []byte) error {
	return db.Write(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx,
			"INSERT INTO settings(key, value, updated_at) VALUES (?,?,?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
			key, value, unixMilli(tx.now))
		if err != nil {
			return fmt.Errorf("write setting %s: %w", key, err)
		}
		return nil
	})
}

// SettingOrCreate returns the value stored under key, storing value first
// if there is none. Nodes that start together on one database agree on the
// first value written (a signing key created once).
func (db *DB) SettingOrCreate(ctx context.Context, key string, value []byte) ([]byte, error) {
	var v []byte
	err := db.Write(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO settings(key, value, updated_at) VALUES (?,?,?) ON CONFLICT(key) DO NOTHING",
			key, value, unixMilli(tx.now)); err != nil {
			return fmt.Errorf("create setting %s: %w", key, err)
		}
		if err := tx.QueryRowContext(ctx, "SELECT value FROM settings WHERE key = ?", key).Scan(&v); err != nil {
			return fmt.Errorf("read setting %s: %w", key, err)
		}
		return nil
	})
	return v, err
}
