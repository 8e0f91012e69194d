import { useState, type FormEvent } from 'react';
import { cleanName, MAX_NAME, windowIdentity } from '../store/identity';
import type { PresenceEditor } from '../store/project';
import { useStore } from '../store/store';
import { useTab } from './hooks';
import './coedit.css';

const palette = ['#6366f1', '#0ea5e9', '#10b981', '#f59e0b', '#ef4444', '#8b5cf6', '#ec4899', '#14b8a6'];

function colorOf(name: string): string {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return palette[h % palette.length];
}

function initials(name: string): string {
  const words = name.split(/[\s·,]+/).filter((w) => /\p{L}/u.test(w));
  return ((words[0]?.[0] ?? '?') + (words[1]?.[0] ?? '')).toUpperCase();
}

/** "Firefox · window 2 (this machine)" and when it opened the workflow. */
function where(e: PresenceEditor): string {
  const since = e.since ? new Date(e.since) : null;
  const at = since && !isNaN(since.getTime()) ? `, open since ${since.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}` : '';
  return `${e.name}${e.client && !e.name.includes(e.client) ? ` (${e.client})` : ''} ${e.local === false ? 'on another machine' : 'on this machine'}${at}`;
}

/**
 * "Also open in": the other windows that have this workflow open, as chips
 * with a readable name, live from the presence channel; and this window's
 * own name, which the user can set once for the whole browser.
 */
export function PresenceChips() {
  const tab = useTab();
  const editors = useStore(tab, (s) => s.editors);
  const workflowId = useStore(tab, (s) => s.workflowId);
  const saved = useStore(tab, (s) => s.version > 0);
  const me = tab.presence.me;
  const here = saved ? editors.filter((e) => e.connectionId !== me && e.workflowId === workflowId) : [];
  return (
    <div className="fw-presence" data-testid="presence">
      {here.length > 0 && <span>Also open in:</span>}
      {here.map((e) => (
        <span key={e.connectionId} className="fw-presence-chip" data-testid="presence-editor" data-name={e.name} title={where(e)}>
          <span className="fw-presence-avatar" style={{ background: colorOf(e.name) }} aria-hidden>
            {initials(e.name)}
          </span>
          {e.name}
        </span>
      ))}
      <MyName />
    </div>
  );
}

function MyName() {
  const id = windowIdentity();
  const [editing, setEditing] = useState(false);
  const [value, setValue] = useState('');
  const [name, setName] = useState(() => id.name);
  if (!editing) {
    return (
      <button
        className="fw-presence-me"
        data-testid="presence-me"
        title="How other windows see this one: click to set your name"
        onClick={() => {
          setValue(id.userName);
          setEditing(true);
        }}
      >
        {name}
      </button>
    );
  }
  const submit = (e: FormEvent) => {
    e.preventDefault();
    id.setUserName(value);
    setName(id.name);
    setEditing(false);
  };
  return (
    <form className="fw-presence-name" onSubmit={submit}>
      <input
        autoFocus
        data-testid="presence-name-input"
        value={value}
        maxLength={MAX_NAME}
        placeholder={id.client}
        aria-label="Your name, shown to other windows"
        onChange={(e) => setValue(cleanName(e.target.value) === '' ? '' : e.target.value)}
        onKeyDown={(e) => e.key === 'Escape' && setEditing(false)}
      />
      <button className="fw-btn sm" data-testid="presence-name-save" type="submit">
        Set
      </button>
    </form>
  );
}
