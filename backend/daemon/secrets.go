package daemon

import (
	"context"
	"fmt"
	"sync"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/secrets"
	"github.com/flowweaver/flowweaver/backend/tools/mcp"
)

// EventSecretsChanged is the transient project: event after a secret was
// set or deleted: {"name"}, never a value.
const EventSecretsChanged = "secrets.changed"

// newSecrets builds the secrets service. The key is loaded on first use
// from the keychain or the key file (Config.SecretKeyStore), and where it
// lives is logged once.
func (d *Daemon) newSecrets() (*secrets.Service, error) {
	var once sync.Once
	load := func(create bool) ([]byte, error) {
		find := secrets.FindKey
		if create {
			find = secrets.LoadKey
		}
		key, info, err := find(d.cfg.DataDir, d.cfg.SecretKeyStore, d.cfg.Keychain)
		if err != nil {
			return nil, err
		}
		once.Do(func() { d.log.Info("secrets key", "store", info.Store, "path", info.Path) })
		return key, nil
	}
	return secrets.New(d.db, load, secrets.Options{
		// A project that is not trusted resolves no secret (backend/trust).
		Trust: d.trust,
		Changed: func(projectID, name string) {
			if d.mcp != nil {
				d.mcp.SecretsChanged(projectID)
			}
			// Other tabs and windows of the project refresh their Secrets
			// panel and Problems; the event carries the name only.
			if d.hub != nil {
				d.hub.PublishTransient(flow.NewEvent(projectID, EventSecretsChanged, "", "", map[string]string{"name": name}))
			}
		},
	})
}

// secretsAPI adds the usage report to the service for the HTTP API.
type secretsAPI struct {
	*secrets.Service
	d *Daemon
}

// Report lists the project's secrets with their uses in workflow params
// and MCP config entries, and the referenced names it lacks.
func (a secretsAPI) Report(ctx context.Context, p flow.Project) (any, error) {
	infos, err := a.List(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	wfs, err := a.d.workflows.List(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("list workflows: %w", err)
	}
	uses := secrets.Uses{}
	uses.AddWorkflows(wfs)
	for _, ref := range mcp.SecretRefs(p.Path) {
		uses.Add(ref.Name, secrets.Use{Kind: "mcp", Server: ref.Server, File: ref.File})
	}
	list, missing := secrets.Report(infos, uses)
	return map[string]any{"secrets": list, "missing": missing}, nil
}

// maskText hides a project's secret values in text the MCP source reports
// (status errors, logged failures). If the secrets cannot be read, the
// text is withheld rather than shown unmasked.
func (d *Daemon) maskText(projectID, text string) string {
	m, err := d.secrets.Masker(context.Background(), projectID)
	if err != nil {
		return "(hidden: the project's secrets could not be read to mask this message)"
	}
	return m.String(text)
}
