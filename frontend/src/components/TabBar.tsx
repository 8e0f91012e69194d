import { useState } from 'react';
import { confirmClose, useUnloadGuard } from './UnloadGuard';
import type { ProjectTab } from '../store/project';
import { useStore } from '../store/store';
import type { Workspace } from '../store/workspace';
import { Icon } from './icons';

const connTitle: Record<string, string> = {
  idle: 'Not connected (background tab, nothing running)',
  connecting: 'Connecting…',
  open: 'Connected',
  waiting: 'Reconnecting…',
  stopped: 'Disconnected',
};

/** Project tabs: switch, close, reorder by drag and drop. */
export function TabBar({ ws, onOpen }: { ws: Workspace; onOpen: () => void }) {
  useUnloadGuard(ws);
  const tabs = useStore(ws, (s) => s.tabs);
  const active = useStore(ws, (s) => s.active);
  const [dragId, setDragId] = useState<string | null>(null);
  return (
    <div className="fw-tabs" role="tablist" data-testid="tabs">
      {tabs.map((t, i) => (
        <TabButton
          key={t.id}
          tab={t}
          active={t.id === active}
          onClick={() => ws.activate(t.id)}
          onClose={() => confirmClose(t) && ws.close(t.id)}
          onDragStart={() => setDragId(t.id)}
          onDrop={() => {
            if (dragId && dragId !== t.id) ws.move(dragId, i);
            setDragId(null);
          }}
        />
      ))}
      <button className="fw-tab-add" data-testid="open-project" title="Open a project folder" onClick={onOpen}>
        <Icon.plus size={15} />
      </button>
    </div>
  );
}

function TabButton({
  tab,
  active,
  onClick,
  onClose,
  onDragStart,
  onDrop,
}: {
  tab: ProjectTab;
  active: boolean;
  onClick: () => void;
  onClose: () => void;
  onDragStart: () => void;
  onDrop: () => void;
}) {
  const name = useStore(tab, (s) => s.project.name);
  const path = useStore(tab, (s) => s.project.path);
  const conn = useStore(tab, (s) => s.conn);
  const runs = useStore(tab, (s) => Object.keys(s.activeRuns).length);
  const dirty = useStore(tab, (s) => s.dirty);
  const restricted = useStore(tab, (s) => s.project.trusted === false);
  return (
    <div
      role="tab"
      aria-selected={active}
      className={`fw-tab ${active ? 'active' : ''}`}
      data-testid={`tab-${tab.id}`}
      data-conn={conn}
      title={`${path}\n${connTitle[conn] ?? conn}`}
      draggable
      onDragStart={(e) => {
        e.dataTransfer.setData('text/plain', tab.id);
        e.dataTransfer.effectAllowed = 'move';
        onDragStart();
      }}
      onDragOver={(e) => e.preventDefault()}
      onDrop={(e) => {
        e.preventDefault();
        onDrop();
      }}
      onClick={onClick}
      onAuxClick={(e) => e.button === 1 && onClose()}
    >
      <span className={`fw-conn-dot c-${conn}`} />
      <span className="fw-tab-name">{name}</span>
      {restricted && (
        <span className="fw-tab-restricted" data-testid={`tab-restricted-${tab.id}`} title="Restricted mode: this folder is not trusted">
          <Icon.shield size={12} />
        </span>
      )}
      {dirty && <span className="fw-dirty" />}
      {runs > 0 && (
        <span className="fw-tab-runs" data-testid={`tab-runs-${tab.id}`} title={runs === 1 ? '1 active run' : `${runs} active runs`}>
          <span className="fw-spinner" /> {runs}
        </span>
      )}
      <button
        className="fw-tab-close"
        data-testid={`tab-close-${tab.id}`}
        title="Close tab"
        onClick={(e) => {
          e.stopPropagation();
          onClose();
        }}
      >
        <Icon.x size={12} />
      </button>
    </div>
  );
}
