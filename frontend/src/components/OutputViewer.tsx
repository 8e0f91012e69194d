import { useEffect, useState } from 'react';
import { ControlIcon } from '../canvas/controlIcons';
import { useTab } from './hooks';

type Seg = string | number;

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The {{ }} reference of a value inside a node's output: {{ nodes.fetch.output.body.items[0] }}. */
export function referenceOf(nodeId: string, path: Seg[]): string {
  let s = `${IDENT.test(nodeId) ? `nodes.${nodeId}` : `nodes[${JSON.stringify(nodeId)}]`}.output`;
  for (const p of path) {
    if (typeof p === 'number') s += `[${p}]`;
    else if (IDENT.test(p)) s += `.${p}`;
    else s += `[${JSON.stringify(p)}]`;
  }
  return `{{ ${s} }}`;
}

async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const ta = document.createElement('textarea');
    ta.value = text;
    document.body.appendChild(ta);
    ta.select();
    document.execCommand('copy');
    ta.remove();
  }
}

/**
 * A node's output as a foldable JSON tree. Every value has a copy button
 * that copies its reference ({{ nodes.x.output.y }}), so data is wired by
 * pointing, not by typing paths. The whole output is read over REST (events
 * carry previews).
 */
export function OutputViewer({ nodeId, runId, preview }: { nodeId: string; runId: string | null; preview: unknown }) {
  const tab = useTab();
  // The full output, for the run, node and preview it was read for; another
  // selection shows its preview until its own read arrives.
  const [full, setFull] = useState<{ runId: string; nodeId: string; preview: unknown; value: unknown } | null>(null);
  const [copied, setCopied] = useState<string | null>(null);
  useEffect(() => {
    if (!runId) return;
    let live = true;
    tab.api
      .call<unknown>('GET', `/api/runs/${encodeURIComponent(runId)}/nodes/${encodeURIComponent(nodeId)}/output`)
      .then((v) => live && setFull({ runId, nodeId, preview, value: v }))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [tab, runId, nodeId, preview]);
  const current = full && full.runId === runId && full.nodeId === nodeId && full.preview === preview ? full : null;
  const value = current ? current.value : preview;
  const copy = (path: Seg[]) => {
    const ref = referenceOf(nodeId, path);
    void copyText(ref);
    setCopied(ref);
  };
  return (
    <div>
      <div className="fw-json" data-testid="inspector-output">
        <JsonNode value={value} path={[]} name={null} onCopy={copy} depth={0} />
      </div>
      {copied && (
        <div className="fw-muted small mono" data-testid="copied-reference">
          Copied {copied}
        </div>
      )}
    </div>
  );
}

function JsonNode({ value, path, name, onCopy, depth }: { value: unknown; path: Seg[]; name: Seg | null; onCopy: (p: Seg[]) => void; depth: number }) {
  const [open, setOpen] = useState(depth < 2);
  const key =
    name === null ? null : (
      <span className="fw-json-key">{typeof name === 'number' ? `${name}` : name}:</span>
    );
  const copyBtn = (
    <button className="fw-json-copy" title="Copy as reference" data-testid={`copy-ref-${path.join('.') || '$'}`} onClick={() => onCopy(path)}>
      <ControlIcon.copy size={11} />
    </button>
  );
  if (value !== null && typeof value === 'object') {
    const entries: [Seg, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value as Record<string, unknown>);
    const [o, c] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
    return (
      <div>
        <div className="fw-json-row">
          <button className="fw-json-toggle" onClick={() => setOpen(!open)} aria-label={open ? 'Fold' : 'Unfold'}>
            {open ? '▾' : '▸'}
          </button>
          {key}
          <span>
            {o}
            {!open && ` ${entries.length} ${Array.isArray(value) ? 'items' : 'keys'} ${c}`}
          </span>
          {copyBtn}
        </div>
        {open && (
          <div style={{ paddingLeft: 14 }}>
            {entries.map(([k, v]) => (
              <JsonNode key={String(k)} value={v} path={[...path, k]} name={k} onCopy={onCopy} depth={depth + 1} />
            ))}
            <div>{c}</div>
          </div>
        )}
      </div>
    );
  }
  const cls = typeof value === 'string' ? 'fw-json-str' : typeof value === 'number' ? 'fw-json-num' : 'fw-json-lit';
  return (
    <div className="fw-json-row">
      {key}
      <span className={cls}>{JSON.stringify(value)}</span>
      {copyBtn}
    </div>
  );
}
