import { useEffect } from 'react';
import { Canvas } from '../canvas/Canvas';
import type { ProjectTab } from '../store/project';
import { useStore } from '../store/store';
import { terminalRun } from '../api/types';
import { BottomPanel } from './BottomPanel';
import { ConflictBanner } from './ConflictBanner';
import { ConnectionBanner } from './ConnectionBanner';
import { DraftBanner } from './UnloadGuard';
import { TabContext, useTab as useTabFromContext } from './hooks';
import { Icon } from './icons';
import { Inspector } from './Inspector';
import { Palette } from './Palette';
import { PresenceChips } from './PresenceChips';
import { RunInputsDialog } from './RunInputsDialog';
import { RunSwitcher } from './RunSwitcher';
import { SecretsButton } from './SecretsPanel';
import { ProjectMenu } from './ProjectMenu';
import { TrustBanner } from './TrustBanner';
import type { Theme } from './theme';

/** One project tab: toolbar, palette, canvas, inspector, bottom panel. */
export function ProjectView({ tab, theme }: { tab: ProjectTab; theme: Theme }) {
  useShortcuts(tab);
  const fatal = useStore(tab, (s) => s.fatal);
  const loadError = useStore(tab, (s) => s.loadError);
  return (
    <TabContext.Provider value={tab}>
      <div className="fw-project" data-testid={`project-view-${tab.id}`}>
        <Toolbar />
        {fatal && (
          <div className="fw-banner error" data-testid="connection-fatal">
            <Icon.alert size={14} /> {fatal}
          </div>
        )}
        <ConnectionBanner />
        {loadError && <div className="fw-banner error">Could not load this project: {loadError}</div>}
        <TrustBanner />
        <ConflictBanner />
        <DraftBanner />
        <ProblemBanner />
        <div className="fw-work">
          <Palette />
          <div className="fw-center">
            <Canvas colorMode={theme} />
            <BottomPanel />
          </div>
          <Inspector />
        </div>
        <RunInputsDialog />
      </div>
    </TabContext.Provider>
  );
}

function Toolbar() {
  const tab = useTabFromContext();
  const s = useStore(tab, (x) => x);
  const running = s.run && !terminalRun(s.run.status);
  return (
    <div className="fw-toolbar">
      <div className="fw-wf-picker">
        <select
          data-testid="workflow-select"
          value={s.workflows.some((w) => w.id === s.workflowId) ? s.workflowId : ''}
          onChange={(e) => e.target.value && void tab.openWorkflow(e.target.value)}
          title="Open a workflow of this project"
        >
          {!s.workflows.some((w) => w.id === s.workflowId) && <option value="">{s.name} (new)</option>}
          {s.workflows.map((w) => (
            <option key={w.id} value={w.id} data-valid={w.valid === false ? 'false' : undefined}>
              {w.valid === false ? `⚠ ${w.name || w.id} (invalid)` : w.name || w.id}
            </option>
          ))}
        </select>
        <button className="fw-btn ghost sm" data-testid="workflow-new" onClick={() => tab.newWorkflow()} title="New workflow">
          <Icon.plus size={14} /> New
        </button>
        <button className="fw-btn ghost sm icon" data-testid="workflow-delete" onClick={() => void tab.deleteWorkflow()} title="Delete this workflow (with Undo)">
          <Icon.trash size={14} />
        </button>
      </div>
      <div className="fw-sep" />
      <button className="fw-btn ghost sm icon" data-testid="undo" disabled={!s.canUndo} onClick={() => tab.undoChange()} title="Undo (Ctrl+Z)">
        <Icon.undo size={15} />
      </button>
      <button className="fw-btn ghost sm icon" data-testid="redo" disabled={!s.canRedo} onClick={() => tab.redoChange()} title="Redo (Ctrl+Shift+Z)">
        <Icon.redo size={15} />
      </button>
      <div className="fw-sep" />
      <SecretsButton />
      <div className="fw-sep" />
      <button className="fw-btn sm" data-testid="save" disabled={s.saving} onClick={() => void tab.save()} title="Save (Ctrl+S)">
        <Icon.save size={14} /> {s.saving ? 'Saving…' : 'Save'}
        {s.dirty && <span className="fw-dirty" data-testid="dirty" title="unsaved changes" />}
      </button>
      <span className="fw-grow" />
      <PresenceChips />
      <span className="fw-muted small" data-testid="save-state">
        {s.dirty ? 'Unsaved changes' : s.version ? `Saved · v${s.version}` : 'Not saved'}
      </span>
      <RunSwitcher />
      {running ? (
        <button className="fw-btn danger sm" data-testid="cancel" onClick={() => void tab.cancelRun()} title="Cancel the run">
          <Icon.stop size={13} /> Cancel
        </button>
      ) : (
        <button
          className="fw-btn primary sm"
          data-testid="run"
          disabled={s.starting || s.project.trusted === false}
          onClick={() => void tab.requestRun('button')}
          title={
            s.project.trusted === false
              ? 'Trust this folder to run its workflows'
              : s.inputs?.properties && Object.keys(s.inputs.properties).length
                ? 'Run: asks for the inputs (Ctrl+Enter reuses the last ones)'
                : 'Run (Ctrl+Enter)'
          }
        >
          <Icon.play size={13} /> {s.starting ? 'Starting…' : s.inputs?.properties && Object.keys(s.inputs.properties).length ? 'Run…' : 'Run'}
        </button>
      )}
      <ProjectMenu />
    </div>
  );
}

function ProblemBanner() {
  const tab = useTabFromContext();
  const banner = useStore(tab, (s) => s.banner);
  if (!banner) return null;
  return (
    <div className="fw-banner error" data-testid="problem-banner">
      <Icon.alert size={14} /> {banner}
    </div>
  );
}


/** Ctrl+S save, Ctrl+Enter run, Delete, Ctrl+C/V, Ctrl+Z/Shift+Z/Y. */
function useShortcuts(tab: ProjectTab) {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const mod = e.ctrlKey || e.metaKey;
      const t = e.target as HTMLElement | null;
      const typing = !!t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable);
      const k = e.key.toLowerCase();
      if (mod && k === 's') {
        e.preventDefault();
        void tab.save();
      } else if (mod && e.key === 'Enter') {
        e.preventDefault();
        void tab.requestRun('shortcut');
      } else if (typing) {
        return;
      } else if (e.key === 'Delete' || e.key === 'Backspace') {
        e.preventDefault();
        tab.deleteSelection();
      } else if (mod && k === 'c') {
        if (tab.copy()) e.preventDefault();
      } else if (mod && k === 'v') {
        e.preventDefault();
        tab.paste();
      } else if (mod && ((k === 'z' && e.shiftKey) || k === 'y')) {
        e.preventDefault();
        tab.redoChange();
      } else if (mod && k === 'z') {
        e.preventDefault();
        tab.undoChange();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [tab]);
}
