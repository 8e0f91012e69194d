package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/flowweaver/flowweaver/backend/queue"
	"github.com/flowweaver/flowweaver/backend/store"
)

// NodeConnections is one node's line in the connections report.
type NodeConnections struct {
	ID          string         `json:"id"`
	Host        string         `json:"host"`
	Addr        string         `json:"addr,omitempty"`
	Alive       bool           `json:"alive"`
	HeartbeatAt time.Time      `json:"heartbeatAt"`
	Total       int            `json:"total"`
	Projects    map[string]int `json:"projects"`
}

// ConnectionsReport is GET /api/connections on a cluster: the totals over
// the live nodes (same fields as a single node's answer) and one line per
// node.
type ConnectionsReport struct {
	Total    int               `json:"total"`
	Projects map[string]int    `json:"projects"`
	Node     string            `json:"node"` // the node that answered
	Nodes    []NodeConnections `json:"nodes"`
}

// NodeQueue is one node's line in the queue report.
type NodeQueue struct {
	ID          string    `json:"id"`
	Host        string    `json:"host"`
	Alive       bool      `json:"alive"`
	HeartbeatAt time.Time `json:"heartbeatAt"`
	Workers     int       `json:"workers"`
	BusyWorkers int       `json:"busyWorkers"`
	Paths       []string  `json:"paths"` // project folders it takes jobs of; null = all
}

// QueueReport is GET /api/queue on a cluster: the queue's counts (they are
// the database's, so already cluster-wide), workers summed over the live
// nodes, and one line per node.
type QueueReport struct {
	queue.Stats
	Nodes []NodeQueue `json:"nodes"`
}

// Reports builds the cluster reports from the nodes table; this node's own
// line uses its live facts instead of its last advertisement.
type Reports struct {
	DB   *store.DB
	Self string
	// StaleAfter is how old a node's heartbeat may be for it to count as
	// alive (its queue's NodeStaleAfter).
	StaleAfter time.Duration
}

// nodes reads the nodes table and decodes each node's Info.
func (r Reports) nodes(ctx context.Context, self Info) ([]store.Node, []Info, error) {
	nodes, err := r.DB.Nodes(ctx, r.StaleAfter)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster report: %w", err)
	}
	found := false
	infos := make([]Info, len(nodes))
	for i, n := range nodes {
		if n.ID == r.Self {
			infos[i] = self
			nodes[i].Alive = true
			found = true
			continue
		}
		if len(n.Info) > 0 {
			_ = json.Unmarshal(n.Info, &infos[i]) // a node of another version: zeros
		}
	}
	if !found { // not advertised yet (or its row was lost): still count it
		nodes = append(nodes, store.Node{ID: r.Self, Alive: true})
		infos = append(infos, self)
	}
	return nodes, infos, nil
}

// Connections answers GET /api/connections.
func (r Reports) Connections(ctx context.Context, self Info) (ConnectionsReport, error) {
	nodes, infos, err := r.nodes(ctx, self)
	if err != nil {
		return ConnectionsReport{}, err
	}
	out := ConnectionsReport{Projects: map[string]int{}, Node: r.Self, Nodes: []NodeConnections{}}
	for i, n := range nodes {
		per := infos[i].Projects
		if per == nil {
			per = map[string]int{}
		}
		out.Nodes = append(out.Nodes, NodeConnections{ID: n.ID, Host: n.Host, Addr: n.Addr, Alive: n.Alive,
			HeartbeatAt: n.HeartbeatAt, Total: infos[i].Connections, Projects: per})
		if !n.Alive {
			continue // its sockets died with it
		}
		out.Total += infos[i].Connections
		for p, c := range per {
			out.Projects[p] += c
		}
	}
	return out, nil
}

// Queue answers GET /api/queue from this node's queue stats.
func (r Reports) Queue(ctx context.Context, local queue.Stats) (QueueReport, error) {
	self := Info{Workers: local.Workers, BusyWorkers: local.BusyWorkers}
	nodes, infos, err := r.nodes(ctx, self)
	if err != nil {
		return QueueReport{}, err
	}
	out := QueueReport{Stats: local, Nodes: []NodeQueue{}}
	out.Workers, out.BusyWorkers = 0, 0
	for i, n := range nodes {
		out.Nodes = append(out.Nodes, NodeQueue{ID: n.ID, Host: n.Host, Alive: n.Alive, HeartbeatAt: n.HeartbeatAt,
			Workers: infos[i].Workers, BusyWorkers: infos[i].BusyWorkers, Paths: n.Paths})
		if n.Alive {
			out.Workers += infos[i].Workers
			out.BusyWorkers += infos[i].BusyWorkers
		}
	}
	return out, nil
}
