import { useContext, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import type { JSONSchema } from '../api/types';
import { declsFromSchema, type InputDecl } from '../inputs/model';
import { applyCompletion, completionAt, completionItems, type CompletionSpot } from '../inputs/refs';
import { Store, useStore } from '../store/store';
import { TabContext } from './hooks';
import './inputs.css';

type Field = HTMLInputElement | HTMLTextAreaElement;

export interface InputCompletion {
  /** On the field: keeps track of the caret (onChange, onSelect). */
  onCaret: (e: { currentTarget: Field }) => void;
  onKeyDown: (e: KeyboardEvent<Field>) => void;
  onBlur: () => void;
  /** The list under the field, or null. */
  popup: ReactNode;
}

// Outside a project view (no tab) there is nothing to complete.
const noTab = new Store<{ inputs?: JSONSchema }>({});

/**
 * Completion of `{{ inputs.` in a text param, like an editor's
 * IntelliSense: the declared inputs with their type and description;
 * arrows move, Enter or Tab inserts (closing the braces), Escape closes.
 * apply receives the new text; the caret lands after the inserted name.
 */
export function useInputCompletion(expression: boolean, apply: (text: string) => void): InputCompletion {
  const tab = useContext(TabContext);
  const schema = useStore((tab ?? noTab) as unknown as Store<{ inputs?: JSONSchema }>, (s) => s.inputs);
  const decls = useMemo(() => declsFromSchema(schema), [schema]);
  const [at, setAt] = useState<{ caret: number; spot: CompletionSpot } | null>(null);
  const [active, setActive] = useState(0);
  const field = useRef<Field | null>(null);
  const caretAfter = useRef<number | null>(null);
  useLayoutEffect(() => {
    if (caretAfter.current === null || !field.current) return;
    field.current.setSelectionRange(caretAfter.current, caretAfter.current);
    caretAfter.current = null;
  });

  const items = at ? completionItems(decls, at.spot) : [];
  const onCaret = (e: { currentTarget: Field }) => {
    const el = e.currentTarget;
    field.current = el;
    const caret = el.selectionStart ?? el.value.length;
    const spot = decls.length && el.selectionEnd === caret ? completionAt(el.value, caret, expression) : null;
    if (spot?.from !== at?.spot.from || spot?.partial !== at?.spot.partial) setActive(0);
    setAt(spot ? { caret, spot } : null);
  };
  const pick = (d: InputDecl) => {
    if (!at || !field.current) return;
    const r = applyCompletion(field.current.value, at.caret, at.spot, d.name, expression);
    caretAfter.current = r.caret;
    setAt(null);
    apply(r.text);
  };
  const onKeyDown = (e: KeyboardEvent<Field>) => {
    if (!items.length) return;
    const n = items.length;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      setActive((a) => (a + (e.key === 'ArrowDown' ? 1 : n - 1)) % n);
    } else if ((e.key === 'Enter' && !e.ctrlKey && !e.metaKey) || e.key === 'Tab') {
      e.preventDefault();
      e.stopPropagation();
      pick(items[Math.min(active, n - 1)]);
    } else if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      setAt(null);
    }
  };
  const popup = items.length ? (
    <div className="fw-complete" role="listbox" aria-label="Declared inputs" data-testid="inputs-completion">
      {items.map((d, i) => (
        <div
          key={d.name}
          role="option"
          aria-selected={i === active}
          className={`fw-complete-item ${i === active ? 'active' : ''}`}
          data-testid={`inputs-completion-${d.name}`}
          // mousedown, not click: the field must not lose focus (and close the list) first
          onMouseDown={(e) => {
            e.preventDefault();
            pick(d);
          }}
          onMouseEnter={() => setActive(i)}
        >
          <span className="mono fw-complete-name">inputs.{d.name}</span>
          <span className="fw-type">
            {d.type}
            {d.required ? ' · required' : ''}
          </span>
          {d.description && <span className="fw-complete-desc">{d.description}</span>}
        </div>
      ))}
    </div>
  ) : null;
  return { onCaret, onKeyDown, onBlur: () => setAt(null), popup };
}
