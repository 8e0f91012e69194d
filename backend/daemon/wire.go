package daemon

import (
	"context"
	"fmt"

	"github.com/flowweaver/flowweaver/backend/engine"
	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/httpapi"
	"github.com/flowweaver/flowweaver/backend/hub"
	"github.com/flowweaver/flowweaver/backend/queue"
	"github.com/flowweaver/flowweaver/backend/sessions"
	"github.com/flowweaver/flowweaver/backend/tools"
	"github.com/flowweaver/flowweaver/backend/tools/mcp"
	"github.com/flowweaver/flowweaver/backend/trigger"
	"github.com/flowweaver/flowweaver/backend/trust"
	"github.com/flowweaver/flowweaver/backend/workflow"
)

// The engine keeps what it derives from a workflow for as long as the
// workflow service hands out the same value (engine.SharedWorkflowSource).
var _ engine.SharedWorkflowSource = (*workflow.Service)(nil)

// wire builds every service around the open store and connects them:
// tools (built-ins + MCP) <- workflows (validation) <- engine (runs) <-
// hub (sockets) <- httpapi. The store's commit hook feeds the hub, so every
// durable event reaches subscribers in commit order.
func (d *Daemon) wire(ctx context.Context) error {
	var err error
	d.trust = trust.New(d.db)
	if d.secrets, err = d.newSecrets(); err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	d.tools = tools.NewRegistry(tools.Options{})
	src, err := mcp.New(mcp.Options{
		Logger:       d.log,
		LookupSecret: d.secrets.Lookup,
		MaskText:     d.maskText,
		Trust:        d.trust,
		// The hub is built below; events before that have no subscriber.
		Notify: func(projectID string, ev flow.Event) {
			if h := d.hub; h != nil {
				h.PublishTransient(ev)
			}
		},
		// Recorded so a restart can kill what a crash left of a stdio
		// server's group; the engine is built below, before any server can
		// start (servers start on demand once the daemon serves).
		Started: func(projectID string, pgid int) func() {
			if en := d.engine; en != nil {
				return en.ProcessStarted(projectID, pgid)
			}
			return nil
		},
	})
	if err != nil {
		return fmt.Errorf("mcp: %w", err)
	}
	d.mcp = src
	if err := d.tools.Register(mcp.Prefix, src); err != nil {
		return err
	}

	d.workflows, err = workflow.New(d.db, d.tools, workflow.Options{WatchAllProjects: true, Logger: d.log})
	if err != nil {
		return fmt.Errorf("workflows: %w", err)
	}
	d.engine, err = engine.New(engine.Config{
		DB:        d.db,
		Tools:     d.tools,
		Workflows: d.workflows,
		Secrets:   d.secrets,
		Trust:     d.trust,
		Queue:     queue.Config{Workers: d.cfg.Workers, StopGrace: d.cfg.ShutdownGrace},
		Logger:    d.log,
	})
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}

	d.trust.OnChange(d.onTrustChange)
	d.triggers, err = trigger.New(trigger.Config{
		DB: d.db, Runs: d.engine, Workflows: d.workflows, Trust: d.trust, Logger: d.log,
	})
	if err != nil {
		return fmt.Errorf("triggers: %w", err)
	}

	if err := d.wireCluster(); err != nil {
		return err
	}
	cmds := &commands{d: d}
	origins := append(append([]string{}, d.cfg.DesktopOrigins...), d.cfg.DevOrigins...)
	d.hub, err = hub.New(hub.Config{
		Verifier: d.auth,
		Projects: hub.ProjectsFunc(func(ctx context.Context, id string) (bool, error) {
			_, err := d.db.Project(ctx, id)
			if flow.ErrorCode(err) == flow.ENOTFOUND {
				return false, nil
			}
			return err == nil, err
		}),
		Log:                d.db,
		Watcher:            d.hubWatcher(),
		Commands:           cmds,
		Stats:              func() any { st, _ := d.engine.QueueStats(context.Background()); return st },
		MaxConnsPerSession: d.cfg.MaxConnsPerSession,
		OriginPatterns:     origins,
		Logger:             d.log,
	})
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	if d.sessions, err = sessions.New(ctx, sessions.Config{Auth: d.auth, DB: d.db, CloseSessions: d.hub.CloseSessions, Logger: d.log}); err != nil {
		return err
	}
	d.db.SetOnCommit(func(evs []flow.Event) {
		d.publishCommitted(evs)
		d.triggers.Observe(evs)
	})

	d.api = httpapi.New(httpapi.Config{
		Store:               d.db,
		Auth:                d.auth,
		Runs:                d.engine,
		Workflows:           d.workflows,
		Tools:               cmds,
		Secrets:             secretsAPI{Service: d.secrets, d: d},
		Trust:               &trustService{d: d},
		Sessions:            sessionsAPI{d.sessions},
		WS:                  d.hub,
		QueueStats:          d.queueReport,
		QueueJobs:           d.queueJobs,
		Connections:         d.connectionsReport,
		BeforeProjectDelete: d.cancelProjectRuns,
		Triggers:            triggersAPI{d.triggers},
		Hooks:               d.triggers,
		ProjectDeleted: func(id string) {
			d.triggers.Reconcile(id)
			d.hub.CloseProject(id)
			d.mcp.CloseProject(id)
			d.engine.ForgetProject(id)
			d.trust.Forget(id)
			d.workflows.ForgetProject(id)
			d.secrets.Forget(id)
		},
		UI:             d.cfg.UI,
		Version:        d.cfg.Version,
		TokenTTL:       d.cfg.TokenTTL,
		AllowedOrigins: origins,
		AllowRemote:    d.cfg.AllowRemote,
		Logger:         d.log,
	})
	return nil
}

// cancelProjectRuns cancels the queued and running runs of a project that
// is about to be deleted, so no worker keeps writing for it.
func (d *Daemon) cancelProjectRuns(ctx context.Context, projectID string) error {
	runs, err := d.engine.ActiveRuns(ctx, projectID)
	if err != nil {
		return err
	}
	for _, r := range runs {
		if err := d.engine.CancelRun(ctx, projectID, r.ID); err != nil && flow.ErrorCode(err) != flow.ENOTFOUND {
			return err
		}
	}
	return nil
}

// queueJobs lists jobs for GET /api/queue/jobs.
func (d *Daemon) queueJobs(ctx context.Context, state, projectID string, before int64, limit int) (any, error) {
	st := queue.State(state)
	switch st {
	case "", queue.Available, queue.Running, queue.Retryable, queue.Completed, queue.Dead, queue.Canceled:
	default:
		return nil, flow.Errorf(flow.EINVALID, "state must be one of available, running, retryable, completed, dead, canceled")
	}
	jobs, err := d.engine.Queue().List(ctx, queue.Filter{State: st, ProjectID: projectID, Before: before, Limit: limit})
	if err != nil {
		return nil, err
	}
	if jobs == nil {
		jobs = []queue.Job{}
	}
	return jobs, nil
}
