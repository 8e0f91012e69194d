// Package cluster keeps the facts Flow Weaver nodes that share one
// PostgreSQL database tell each other: the signing key every node checks
// tokens with (SigningKey), which project folders each node can see (the
// queue only hands a node jobs of those) and what each node holds
// (sockets, workers) for the per-node reports of GET /api/connections and
// GET /api/queue. Events between nodes are backend/fanout's job.
package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/flowweaver/flowweaver/backend/store"
)

// SigningKeySetting is the settings key of the cluster's JWT signing key.
const SigningKeySetting = "jwt_signing_key"

// SigningKey returns the cluster's token signing key, storing fresh (a new
// random key) first if the database has none. Nodes that start at the same
// time agree on the first key committed (INSERT ... ON CONFLICT DO NOTHING
// then SELECT), so a token from any node works on all.
func SigningKey(ctx context.Context, db *store.DB, fresh []byte) ([]byte, error) {
	key, err := db.SettingOrCreate(ctx, SigningKeySetting, fresh)
	if err != nil {
		return nil, fmt.Errorf("cluster signing key: %w", err)
	}
	return key, nil
}

// Info is what a node reports about itself, stored as nodes.info.
type Info struct {
	Connections int            `json:"connections"`
	Projects    map[string]int `json:"projects"` // sockets per project
	Workers     int            `json:"workers"`
	BusyWorkers int            `json:"busyWorkers"`
	Version     string         `json:"version,omitempty"`
}

// NodeConfig configures a Node. DB, ID and Info are required.
type NodeConfig struct {
	DB *store.DB
	// ID is the node's id: its queue owner id (jobs.owner).
	ID string
	// Addr is the node's base URL, shown in the reports.
	Addr string
	// Info returns this node's live facts.
	Info func(ctx context.Context) Info
	// CanSee reports whether a project folder is reachable from this node.
	// Default: the path is a directory here.
	CanSee func(path string) bool
	// Interval is how often the node re-advertises (new projects, changed
	// counts). Default 2s.
	Interval time.Duration
	Logger   *slog.Logger
}

// Node advertises one node: its address, the project paths it can see and
// its Info. Advertise once before the node claims jobs, then Start.
type Node struct {
	cfg NodeConfig

	host   string
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewNode checks cfg. It starts nothing.
func NewNode(cfg NodeConfig) (*Node, error) {
	switch {
	case cfg.DB == nil:
		return nil, errors.New("cluster: DB is required")
	case cfg.ID == "":
		return nil, errors.New("cluster: ID is required")
	case cfg.Info == nil:
		return nil, errors.New("cluster: Info is required")
	}
	if cfg.CanSee == nil {
		cfg.CanSee = isDir
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	host, _ := os.Hostname()
	return &Node{cfg: cfg, host: host}, nil
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// VisiblePaths lists the paths of the projects whose folder this node can
// see, sorted. A job of any other project is never claimed here.
func (n *Node) VisiblePaths(ctx context.Context) ([]string, error) {
	projects, err := n.cfg.DB.Projects(ctx)
	if err != nil {
		return nil, fmt.Errorf("cluster: list projects: %w", err)
	}
	paths := []string{}
	for _, p := range projects {
		if n.cfg.CanSee(p.Path) {
			paths = append(paths, p.Path)
		}
	}
	sort.Strings(paths)
	return paths, nil
}

// Advertise writes the node's row now: a heartbeat (creating the row, so it
// is never without its paths once its queue starts), then its address,
// visible paths and Info.
func (n *Node) Advertise(ctx context.Context) error {
	paths, err := n.VisiblePaths(ctx)
	if err != nil {
		return err
	}
	info, err := json.Marshal(n.cfg.Info(ctx))
	if err != nil {
		return fmt.Errorf("cluster: encode node info: %w", err)
	}
	if err := n.cfg.DB.BeatNode(ctx, n.cfg.ID, n.host, os.Getpid()); err != nil {
		return fmt.Errorf("cluster: advertise: %w", err)
	}
	if err := n.cfg.DB.SetNodeInfo(ctx, n.cfg.ID, n.cfg.Addr, paths, info); err != nil {
		return fmt.Errorf("cluster: advertise: %w", err)
	}
	return nil
}

// Start re-advertises every Interval until Stop. A failed advertisement
// (PostgreSQL down) is logged and retried at the next tick.
func (n *Node) Start(ctx context.Context) error {
	if n.cancel != nil {
		return errors.New("cluster: node already started")
	}
	ctx, n.cancel = context.WithCancel(context.WithoutCancel(ctx))
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		t := time.NewTicker(n.cfg.Interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := n.Advertise(ctx); err != nil && ctx.Err() == nil {
					n.cfg.Logger.Warn("cluster: advertise node", "err", err)
				}
			}
		}
	}()
	return nil
}

// Stop ends the advertising loop. The queue's Stop removes the node row.
func (n *Node) Stop() {
	if n.cancel != nil {
		n.cancel()
	}
	n.wg.Wait()
}
