package secrets

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/store"
)

// memKeychain is an in-memory keychain for testing the keychain-or-file
// choice on machines without one (this CI box has no Secret Service).
type memKeychain struct {
	up   bool
	data map[string]string
}

func (k *memKeychain) Available() bool { return k.up }
func (k *memKeychain) Get(a string) (string, error) {
	v, ok := k.data[a]
	if !ok {
		return "", ErrNoKey
	}
	return v, nil
}
func (k *memKeychain) Set(a, v string) error {
	if !k.up {
		return errors.New("down")
	}
	k.data[a] = v
	return nil
}

func TestLoadKeyUsesFileWithoutKeychain(t *testing.T) {
	dir := t.TempDir()
	k1, info, err := LoadKey(dir, StoreAuto, &memKeychain{data: map[string]string{}})
	if err != nil || info.Store != StoreFile || len(k1) != keySize {
		t.Fatalf("%v %+v", err, info)
	}
	st, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	k2, _, _ := LoadKey(dir, StoreAuto, &memKeychain{up: true, data: map[string]string{}})
	if string(k1) != string(k2) {
		t.Fatal("an existing key file must keep being used, keychain or not")
	}
	if err := os.Chmod(filepath.Join(dir, KeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadKey(dir, StoreFile, nil); err == nil {
		t.Fatal("a key file readable by others was accepted")
	}
}

func TestLoadKeyPrefersReachableKeychain(t *testing.T) {
	dir := t.TempDir()
	kc := &memKeychain{up: true, data: map[string]string{}}
	k1, info, err := LoadKey(dir, StoreAuto, kc)
	if err != nil || info.Store != StoreKeychain {
		t.Fatalf("%v %+v", err, info)
	}
	if _, err := os.Stat(filepath.Join(dir, KeyFile)); !os.IsNotExist(err) {
		t.Fatal("a key file was written although the keychain holds the key")
	}
	k2, _, _ := LoadKey(dir, StoreAuto, kc)
	if string(k1) != string(k2) {
		t.Fatal("the keychain key changed")
	}
	if _, _, err := LoadKey(t.TempDir(), StoreKeychain, &memKeychain{}); err == nil {
		t.Fatal("keychain mode without a keychain must fail")
	}
	// This machine: no D-Bus session, so the real keychain is not tried.
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" && (OSKeychain{}).Available() {
		t.Fatal("OSKeychain claims a Secret Service without a session bus")
	}
}

func newService(t testing.TB, trusted bool) (*Service, *store.DB) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, filepath.Join(dir, "fw.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.CreateProject(ctx, &flow.Project{ID: "p1", Name: "p", Path: dir}); err != nil {
		t.Fatal(err)
	}
	s, err := New(db, func(bool) ([]byte, error) { k, _, err := LoadKey(dir, StoreFile, nil); return k, err }, Options{Trust: TrustFunc(func(context.Context, string) (bool, error) { return trusted, nil })})
	if err != nil {
		t.Fatal(err)
	}
	return s, db
}

func TestServiceStoresOnlyCiphertext(t *testing.T) {
	ctx := context.Background()
	s, db := newService(t, true)
	for _, bad := range []struct{ name, value string }{{"lower", "v"}, {"1A", "v"}, {"A", ""}, {"A", "nul\x00"}} {
		if err := s.Set(ctx, "p1", bad.name, bad.value); flow.ErrorCode(err) != flow.EINVALID {
			t.Fatalf("Set(%q,%q) = %v", bad.name, bad.value, err)
		}
	}
	if err := s.Set(ctx, "p1", "API_TOKEN", "plain-value-123"); err != nil {
		t.Fatal(err)
	}
	rows, _ := db.Secrets(ctx, "p1")
	if len(rows) != 1 || string(rows[0].Ciphertext) == "plain-value-123" {
		t.Fatalf("%+v", rows)
	}
	v, err := s.Lookup(ctx, "p1", "API_TOKEN")
	if err != nil || v != "plain-value-123" {
		t.Fatalf("%q %v", v, err)
	}
	if _, err := s.Lookup(ctx, "p1", "OTHER"); err == nil || !contains(err.Error(), "OTHER") {
		t.Fatalf("missing secret: %v", err)
	}
	// A ciphertext moved to another name does not open. The move is a
	// write past the Service, which it sees once CacheTTL has passed.
	if err := db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE secrets SET name = 'MOVED'")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return time.Now().Add(CacheTTL) }
	if _, err := s.Masker(ctx, "p1"); err == nil {
		t.Fatal("a ciphertext opened under another name")
	}
}

func TestUntrustedProjectResolvesNothing(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t, false)
	if err := s.Set(ctx, "p1", "TOKEN", "untrusted-value"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lookup(ctx, "p1", "TOKEN"); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("untrusted lookup: %v", err)
	}
	snap := s.Snapshot(ctx, "p1")
	if _, err := snap.Resolve([]string{"TOKEN"}); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("untrusted resolve: %v", err)
	}
	if snap.Masker.String("untrusted-value") != Mask {
		t.Fatal("masking must not depend on trust")
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// A lost key is reported, never silently replaced while secrets made with
// it are stored; once they are deleted, a new key is made.
func TestLostKeyIsReportedNotReplaced(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, filepath.Join(dir, "fw.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if err := db.CreateProject(ctx, &flow.Project{ID: "p1", Name: "p", Path: dir}); err != nil {
		t.Fatal(err)
	}
	loader := func(create bool) ([]byte, error) {
		find := FindKey
		if create {
			find = LoadKey
		}
		k, _, err := find(dir, StoreAuto, &memKeychain{data: map[string]string{}})
		return k, err
	}
	trusted := Options{Trust: TrustFunc(func(context.Context, string) (bool, error) { return true, nil })}
	s1, _ := New(db, loader, trusted)
	if err := s1.Set(ctx, "p1", "A", "value-a"); err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(dir, KeyFile)
	if err := os.Remove(keyPath); err != nil {
		t.Fatal(err)
	}
	s2, _ := New(db, loader, trusted) // a restart: the key is read again
	if _, err := s2.Lookup(ctx, "p1", "A"); !errors.Is(err, ErrKeyMissing) {
		t.Fatalf("lookup without the key: %v", err)
	}
	if err := s2.Set(ctx, "p1", "B", "value-b"); !errors.Is(err, ErrKeyMissing) {
		t.Fatalf("set without the key: %v", err)
	}
	if _, err := os.Stat(keyPath); !os.IsNotExist(err) {
		t.Fatal("a new key was made although secrets of the old one are stored")
	}
	if err := s2.Delete(ctx, "p1", "A"); err != nil {
		t.Fatalf("delete needs no key: %v", err)
	}
	if err := s2.Set(ctx, "p1", "A", "value-a2"); err != nil {
		t.Fatalf("set after every secret was deleted: %v", err)
	}
	if v, err := s2.Lookup(ctx, "p1", "A"); err != nil || v != "value-a2" {
		t.Fatalf("%q %v", v, err)
	}
}
