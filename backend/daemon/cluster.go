package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/flowweaver/flowweaver/backend/auth"
	"github.com/flowweaver/flowweaver/backend/cluster"
	"github.com/flowweaver/flowweaver/backend/fanout"
	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/hub"
	"github.com/flowweaver/flowweaver/backend/queue"
	"github.com/flowweaver/flowweaver/backend/store"
)

// clusterParts are what a node sharing a PostgreSQL database runs besides
// a single node's parts: the feed of other nodes' events and the
// advertisement of this node. Nil on SQLite.
type clusterParts struct {
	feed    *fanout.Feed
	node    *cluster.Node
	reports cluster.Reports
}

// nodeStaleAfter matches the queue's default NodeStaleAfter (its lease):
// a node silent that long is dead to the rescuer and to the reports.
const nodeStaleAfter = 15 * time.Second

// signingKey is the token key: on PostgreSQL the cluster's, kept in the
// database and mirrored into the data dir's jwt.key (so `flowweaver token`
// signs tokens every node accepts); on SQLite the data dir's own.
func (d *Daemon) signingKey(ctx context.Context) ([]byte, error) {
	if d.db.Dialect() != store.Postgres {
		return auth.LoadKey(d.cfg.DataDir)
	}
	fresh, err := auth.NewKey()
	if err != nil {
		return nil, err
	}
	key, err := cluster.SigningKey(ctx, d.db, fresh)
	if err != nil {
		return nil, err
	}
	if err := auth.WriteKey(d.cfg.DataDir, key); err != nil {
		return nil, err
	}
	return key, nil
}

// wireCluster builds the feed on PostgreSQL; the hub, built after, gets it
// as its Watcher. It publishes into the hub through d.hub, set right after.
func (d *Daemon) wireCluster() error {
	if d.db.Dialect() != store.Postgres {
		return nil
	}
	feed, err := fanout.New(fanout.Config{
		DSN:     d.db.DSN(),
		Channel: store.EventsChannel,
		Log:     d.db,
		Publish: func(evs []flow.Event) { d.hub.Publish(evs) },
		Logger:  d.log,
	})
	if err != nil {
		return fmt.Errorf("cluster feed: %w", err)
	}
	d.cluster = &clusterParts{feed: feed}
	return nil
}

// hubWatcher is the feed as the hub's Watcher, or none on SQLite.
func (d *Daemon) hubWatcher() hub.Watcher {
	if d.cluster == nil {
		return nil
	}
	return d.cluster.feed
}

// publishCommitted hands the store's committed events to the sockets: on a
// cluster through the feed, which orders them with other nodes' events.
func (d *Daemon) publishCommitted(evs []flow.Event) {
	if d.cluster != nil {
		d.cluster.feed.Local(evs)
		return
	}
	d.hub.Publish(evs)
}

// startCluster starts the feed and advertises this node before its queue
// may claim a job: the node row then already lists the project folders it
// can see, so it never takes a job of a project it cannot open.
func (d *Daemon) startCluster(ctx context.Context) error {
	if d.cluster == nil {
		return nil
	}
	owner := d.engine.Queue().Owner()
	node, err := cluster.NewNode(cluster.NodeConfig{
		DB: d.db, ID: owner, Addr: d.URL(), Info: d.nodeInfo, Logger: d.log,
	})
	if err != nil {
		return err
	}
	d.cluster.node = node
	d.cluster.reports = cluster.Reports{DB: d.db, Self: owner, StaleAfter: nodeStaleAfter}
	if err := node.Advertise(ctx); err != nil {
		return fmt.Errorf("advertise this node: %w", err)
	}
	if err := d.cluster.feed.Start(ctx); err != nil {
		return err
	}
	return node.Start(ctx)
}

// stopCluster stops advertising (before the queue forgets the node row)
// and the feed (after the sockets are closed).
func (d *Daemon) stopCluster() {
	if d.cluster == nil {
		return
	}
	if d.cluster.node != nil {
		d.cluster.node.Stop()
	}
	_ = d.cluster.feed.Stop()
}

// nodeInfo is what this node advertises about itself.
func (d *Daemon) nodeInfo(ctx context.Context) cluster.Info {
	total, per := d.hub.Connections()
	info := cluster.Info{Connections: total, Projects: per, Version: d.cfg.Version}
	if st, err := d.localQueueStats(ctx); err == nil {
		info.Workers, info.BusyWorkers = st.Workers, st.BusyWorkers
	}
	return info
}

// localQueueStats are this node's queue stats; a passive node of a
// cluster runs no workers, whatever its configured pool size.
func (d *Daemon) localQueueStats(ctx context.Context) (queue.Stats, error) {
	st, err := d.engine.QueueStats(ctx)
	if d.cfg.Passive && d.cluster != nil {
		st.Workers, st.BusyWorkers = 0, 0
	}
	return st, err
}

// connectionsReport is GET /api/connections: a single node's counts, or on
// a cluster the totals over the live nodes with one line per node.
func (d *Daemon) connectionsReport(ctx context.Context) (any, error) {
	total, per := d.hub.Connections()
	if d.cluster == nil || d.cluster.node == nil {
		return map[string]any{"total": total, "projects": per}, nil
	}
	return d.cluster.reports.Connections(ctx, d.nodeInfo(ctx))
}

// queueReport is GET /api/queue: this queue's stats, or on a cluster the
// shared counts with workers per node.
func (d *Daemon) queueReport(ctx context.Context) (any, error) {
	st, err := d.localQueueStats(ctx)
	if err != nil {
		return nil, err
	}
	if d.cluster == nil || d.cluster.node == nil {
		return st, nil
	}
	return d.cluster.reports.Queue(ctx, st)
}
