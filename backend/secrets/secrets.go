// Package secrets keeps per-project named secrets: encrypted at rest in
// the database (AES-256-GCM, the key in the OS keychain or a 0600 key file
// beside jwt.key), write-only for clients, resolved for runs of trusted
// projects only, and masked wherever the engine records output. See
// docs/security.md for the user-facing rules.
package secrets

import (
	"context"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/store"
)

// MaxValueBytes bounds one secret value.
const MaxValueBytes = 64 << 10

// TrustPolicy says whether a project is trusted. Secrets of an untrusted
// project are never decrypted for a run or an MCP server.
type TrustPolicy interface {
	Trusted(ctx context.Context, projectID string) (bool, error)
}

// TrustFunc adapts a function to TrustPolicy.
type TrustFunc func(ctx context.Context, projectID string) (bool, error)

// Trusted implements TrustPolicy.
func (f TrustFunc) Trusted(ctx context.Context, projectID string) (bool, error) {
	return f(ctx, projectID)
}

// Options configure a Service.
type Options struct {
	// Trust decides whether values are resolved. Required.
	Trust TrustPolicy
	// Changed is called after a secret was set or deleted (never with its
	// value), for example to restart the MCP servers that use it.
	Changed func(projectID, name string)
}

// Info is what clients may know about a secret.
type Info struct {
	Name      string    `json:"name"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Service stores, lists and resolves secrets.
//
// Every run execution asks for its project's secrets (for masking, even
// when it uses none), so the decrypted secrets are cached per project.
// Every change through this Service (Set, Delete) invalidates its
// project's entry before its write starts and after it ended, with a
// generation so a read racing the change never caches the old secrets.
// The TTL bounds only what this process cannot see: a change written by
// another process sharing the database (a second node on PostgreSQL; the
// command line writes to the data dir only when no server holds it) is
// picked up within CacheTTL. Errors are never cached.
type Service struct {
	db      *store.DB
	loadKey KeyLoader
	o       Options
	now     func() time.Time

	mu   sync.Mutex
	seal *sealer // nil until the key is first needed

	cmu   sync.Mutex
	gen   uint64
	cache map[string]cachedSecrets
}

// CacheTTL is how long the decrypted secrets of a project are used at most
// before they are read again.
const CacheTTL = time.Second

type cachedSecrets struct {
	ps *projectSecrets // shared by every reader: never modified
	at time.Time
}

type projectSecrets struct {
	values map[string]string
	masker *Masker
}

// KeyLoader returns the data dir's key; create says whether a missing key
// may be made (LoadKey) or must be reported (FindKey).
type KeyLoader func(create bool) ([]byte, error)

// New builds a Service. loadKey is called when a value is first written or
// read, not before, so a desktop user without secrets is never asked to
// unlock a keychain. A failing call is retried the next time. A key is only
// created while the database holds no secret at all.
func New(db *store.DB, loadKey KeyLoader, o Options) (*Service, error) {
	if loadKey == nil {
		return nil, flow.Errorf(flow.EINTERNAL, "secrets: a key loader is required")
	}
	if o.Trust == nil {
		return nil, flow.Errorf(flow.EINTERNAL, "secrets: a trust policy is required")
	}
	if o.Changed == nil {
		o.Changed = func(string, string) {}
	}
	return &Service{db: db, loadKey: loadKey, o: o, now: time.Now, cache: map[string]cachedSecrets{}}, nil
}

// sealer returns the cipher, loading the key on first use.
func (s *Service) sealer(ctx context.Context) (*sealer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seal != nil {
		return s.seal, nil
	}
	stored, err := s.db.HasSecrets(ctx)
	if err != nil {
		return nil, err
	}
	key, err := s.loadKey(!stored)
	if err != nil {
		return nil, err
	}
	seal, err := newSealer(key)
	if err != nil {
		return nil, err
	}
	s.seal = seal
	return seal, nil
}

// CheckValue validates a value before it is stored.
func CheckValue(value string) error {
	switch {
	case value == "":
		return flow.Errorf(flow.EINVALID, "a secret value must not be empty")
	case len(value) > MaxValueBytes:
		return flow.Errorf(flow.EINVALID, "a secret value must be at most %d bytes", MaxValueBytes)
	case !utf8.ValidString(value):
		return flow.Errorf(flow.EINVALID, "a secret value must be UTF-8 text")
	case strings.ContainsRune(value, 0):
		return flow.Errorf(flow.EINVALID, "a secret value must not contain NUL bytes")
	}
	return nil
}

// Set stores (or replaces) a secret.
func (s *Service) Set(ctx context.Context, projectID, name, value string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	if err := CheckValue(value); err != nil {
		return err
	}
	seal, err := s.sealer(ctx)
	if err != nil {
		return err
	}
	nonce, ct, err := seal.seal(projectID, name, value)
	if err != nil {
		return err
	}
	s.Forget(projectID)
	defer s.Forget(projectID) // also when the write failed: its outcome is unknown
	if err := s.db.PutSecret(ctx, &store.SecretRow{ProjectID: projectID, Name: name, Nonce: nonce, Ciphertext: ct}); err != nil {
		return err
	}
	s.Forget(projectID) // before the hook, which may read them
	s.o.Changed(projectID, name)
	return nil
}

// Delete removes a secret; a missing one is not_found.
func (s *Service) Delete(ctx context.Context, projectID, name string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	s.Forget(projectID)
	defer s.Forget(projectID)
	if err := s.db.DeleteSecret(ctx, projectID, name); err != nil {
		return err
	}
	s.Forget(projectID)
	s.o.Changed(projectID, name)
	return nil
}

// Forget drops the cached secrets of a project (deleted, or changed by
// means other than this Service).
func (s *Service) Forget(projectID string) {
	s.cmu.Lock()
	s.gen++
	delete(s.cache, projectID)
	s.cmu.Unlock()
}

// List returns the project's secrets by name, without values.
func (s *Service) List(ctx context.Context, projectID string) ([]Info, error) {
	rows, err := s.db.Secrets(ctx, projectID)
	if err != nil {
		return nil, err
	}
	out := make([]Info, 0, len(rows))
	for _, r := range rows {
		out = append(out, Info{Name: r.Name, UpdatedAt: r.UpdatedAt})
	}
	return out, nil
}

// load returns the decrypted secrets of a project, from the cache while
// that is fresh (see Service). The result is shared: never modify it.
func (s *Service) load(ctx context.Context, projectID string) (*projectSecrets, error) {
	now := s.now()
	s.cmu.Lock()
	if c, ok := s.cache[projectID]; ok && now.Sub(c.at) < CacheTTL && !now.Before(c.at) {
		s.cmu.Unlock()
		return c.ps, nil
	}
	gen := s.gen
	s.cmu.Unlock()
	ps, err := s.read(ctx, projectID)
	if err != nil {
		return nil, err
	}
	s.cmu.Lock()
	if s.gen == gen { // no change began or ended while we read
		s.cache[projectID] = cachedSecrets{ps: ps, at: now}
	}
	s.cmu.Unlock()
	return ps, nil
}

// read reads and decrypts the secrets of a project.
func (s *Service) read(ctx context.Context, projectID string) (*projectSecrets, error) {
	rows, err := s.db.Secrets(ctx, projectID)
	if err != nil {
		return nil, err
	}
	ps := &projectSecrets{values: make(map[string]string, len(rows))}
	if len(rows) == 0 {
		return ps, nil
	}
	seal, err := s.sealer(ctx)
	if err != nil {
		return nil, err
	}
	var vals []string
	for _, r := range rows {
		v, err := seal.open(projectID, r.Name, r.Nonce, r.Ciphertext)
		if err != nil {
			return nil, flow.Errorf(flow.EINTERNAL, "%s: %v", describe(projectID, r.Name), err)
		}
		ps.values[r.Name] = v
		vals = append(vals, v)
	}
	ps.masker = NewMasker(vals)
	return ps, nil
}

// Masker returns the masker of every secret value of the project. Masking
// does not depend on trust: it never reveals anything.
func (s *Service) Masker(ctx context.Context, projectID string) (*Masker, error) {
	ps, err := s.load(ctx, projectID)
	if err != nil {
		return nil, err
	}
	return ps.masker, nil
}

// Lookup returns one value for a trusted project: ErrUntrusted for an
// untrusted one, MissingError for a name it does not have.
func (s *Service) Lookup(ctx context.Context, projectID, name string) (string, error) {
	snap := s.Snapshot(ctx, projectID)
	v, err := snap.Resolve([]string{name})
	if err != nil {
		return "", err
	}
	return v[name].(string), nil
}

// Snapshot is a project's secrets as one run sees them: the masker of all
// values, and the values themselves unless the project is untrusted (or
// they could not be read, which Err says).
type Snapshot struct {
	Masker *Masker
	values map[string]string
	err    error
}

// Snapshot reads the project's secrets for a run. It never fails: an
// error is kept and returned by Resolve, so only nodes that use a secret
// fail.
func (s *Service) Snapshot(ctx context.Context, projectID string) *Snapshot {
	ps, err := s.load(ctx, projectID)
	if err != nil {
		return &Snapshot{err: err}
	}
	snap := &Snapshot{Masker: ps.masker}
	ok, err := s.o.Trust.Trusted(ctx, projectID)
	switch {
	case err != nil:
		snap.err = err
	case !ok:
		snap.err = ErrUntrusted
	default:
		snap.values = ps.values
	}
	return snap
}

// Resolve returns the values of names as the {{ secrets }} env of a node:
// an error naming the first missing secret, or why none can be resolved.
func (snap *Snapshot) Resolve(names []string) (map[string]any, error) {
	if len(names) == 0 {
		return nil, nil
	}
	if snap == nil {
		return nil, ErrUntrusted
	}
	if snap.err != nil {
		return nil, snap.err
	}
	out := make(map[string]any, len(names))
	for _, n := range names {
		v, ok := snap.values[n]
		if !ok {
			return nil, MissingError(n)
		}
		out[n] = v
	}
	return out, nil
}
