package secrets

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

func isMissing(err error, name string) bool {
	return err != nil && err.Error() == MissingError(name).Error()
}

func resolve(t *testing.T, s *Service, name string) (string, error) {
	t.Helper()
	v, err := s.Snapshot(context.Background(), "p1").Resolve([]string{name})
	if err != nil {
		return "", err
	}
	return v[name].(string), nil
}

// Every change through the Service is seen by the very next Snapshot
// (the clock never moves in this test, so nothing expires), and the
// masker follows the values.
func TestSnapshotSeesEveryChangeAtOnce(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t, true)
	frozen := time.Now()
	s.now = func() time.Time { return frozen }
	if _, err := resolve(t, s, "TOKEN"); !isMissing(err, "TOKEN") {
		t.Fatalf("before any secret: %v", err)
	}
	for i := 0; i < 5; i++ {
		val := fmt.Sprintf("value-number-%d", i)
		if err := s.Set(ctx, "p1", "TOKEN", val); err != nil {
			t.Fatal(err)
		}
		if v, err := resolve(t, s, "TOKEN"); err != nil || v != val {
			t.Fatalf("after set %d: %q %v", i, v, err)
		}
		snap := s.Snapshot(ctx, "p1")
		if snap.Masker.String("x "+val+" y") != "x "+Mask+" y" || (i > 0 && snap.Masker.String(fmt.Sprintf("value-number-%d", i-1)) != fmt.Sprintf("value-number-%d", i-1)) {
			t.Fatalf("masker after set %d does not follow the values", i)
		}
	}
	if err := s.Delete(ctx, "p1", "TOKEN"); err != nil {
		t.Fatal(err)
	}
	if _, err := resolve(t, s, "TOKEN"); !isMissing(err, "TOKEN") {
		t.Fatalf("after delete: %v", err)
	}
	if m, err := s.Masker(ctx, "p1"); err != nil || !m.Empty() {
		t.Fatalf("masker after delete: %v %v", m, err)
	}
}

// Readers racing a change never keep the old secrets: right after each Set
// returns, every Snapshot has the new value.
func TestSecretsCacheNeverOutlivesAChange(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t, true)
	frozen := time.Now()
	s.now = func() time.Time { return frozen }
	for round := 0; round < 20; round++ {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for r := 0; r < 4; r++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					_ = s.Snapshot(ctx, "p1")
				}
			}()
		}
		val := fmt.Sprintf("round-%02d-value", round)
		if err := s.Set(ctx, "p1", "TOKEN", val); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			if v, err := resolve(t, s, "TOKEN"); err != nil || v != val {
				t.Fatalf("round %d: right after the change %q %v", round, v, err)
			}
		}
		close(stop)
		wg.Wait()
	}
}

// A change this Service did not make (another node writing the same
// database) is seen once the cached secrets are older than CacheTTL;
// Forget drops them at once (the daemon calls it when a project is
// deleted).
func TestSecretsSeeOtherWritersAfterTTLAndForget(t *testing.T) {
	ctx := context.Background()
	s, db := newService(t, true)
	var mu sync.Mutex
	now := time.Now()
	s.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	other, err := New(db, s.loadKey, s.o) // a second process on the same database and key
	if err != nil {
		t.Fatal(err)
	}
	if _, err := resolve(t, s, "TOKEN"); err == nil {
		t.Fatal("a secret before any was set")
	}
	if err := other.Set(ctx, "p1", "TOKEN", "from-the-other-node"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(CacheTTL)
	mu.Unlock()
	if v, err := resolve(t, s, "TOKEN"); err != nil || v != "from-the-other-node" {
		t.Fatalf("after the TTL: %q %v", v, err)
	}
	if err := other.Delete(ctx, "p1", "TOKEN"); err != nil {
		t.Fatal(err)
	}
	s.Forget("p1")
	if _, err := resolve(t, s, "TOKEN"); !isMissing(err, "TOKEN") {
		t.Fatalf("after Forget: %v", err)
	}
}

// BenchmarkSnapshot: what a run execution pays for its project's secrets
// (3 of them), cached and (uncached) read and decrypted as before the cache.
//
//	go test ./backend/secrets/ -run '^$' -bench Snapshot -benchmem
func BenchmarkSnapshot(b *testing.B) {
	for _, cached := range []bool{true, false} {
		b.Run(fmt.Sprintf("cached=%v", cached), func(b *testing.B) {
			ctx := context.Background()
			s, _ := newService(b, true)
			for i := 0; i < 3; i++ {
				if err := s.Set(ctx, "p1", fmt.Sprintf("S%d", i), fmt.Sprintf("value-%d-xxxxxxxx", i)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if !cached {
					s.Forget("p1")
				}
				_ = s.Snapshot(ctx, "p1")
			}
		})
	}
}
