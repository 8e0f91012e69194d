import { useRef, useState } from 'react';
import type { JSONSchema } from '../api/types';
import { coerce, displayValue, fieldsFromSchema, type Field } from '../canvas/schema';
import { isExpressionParam } from '../inputs/refs';
import { useInputCompletion } from './InputCompletion';
import { SecretPicker } from './SecretPicker';

interface Props {
  schema: JSONSchema | null | undefined;
  values: Record<string, unknown>;
  onChange: (key: string, value: unknown) => void;
  /** Server-side problems by field key. */
  errors?: Record<string, string>;
  idPrefix: string;
  /** The node's tool: its expression params (if's condition...) complete inputs without braces. */
  tool?: string;
}

/** A form generated from a tool's JSON Schema (see canvas/schema.ts for the mapping). */
export function SchemaForm({ schema, values, onChange, errors = {}, idPrefix, tool }: Props) {
  const fields = fieldsFromSchema(schema);
  if (!fields.length) {
    return <div className="fw-muted">This tool takes no parameters.</div>;
  }
  return (
    <div className="fw-form">
      {fields.map((f) => (
        <FieldInput
          key={`${idPrefix}-${f.key}`}
          field={f}
          value={values[f.key]}
          onChange={(v) => onChange(f.key, v)}
          serverError={errors[f.key]}
          id={`${idPrefix}-${f.key}`}
          expression={isExpressionParam(tool, f.key)}
        />
      ))}
    </div>
  );
}

function FieldInput({
  field: f,
  value,
  onChange,
  serverError,
  id,
  expression,
}: {
  field: Field;
  value: unknown;
  onChange: (v: unknown) => void;
  serverError?: string;
  id: string;
  expression: boolean;
}) {
  // Text is kept locally so an invalid number/JSON can be typed through.
  const [text, setText] = useState(() => displayValue(f, value));
  const [error, setError] = useState<string | null>(null);
  // A new value from outside (undo, another editor) replaces the text unless
  // the text already means that value; adjusted while rendering, as React
  // recommends over an effect.
  const [seenValue, setSeenValue] = useState(value);
  if (value !== seenValue) {
    setSeenValue(value);
    const shown = coerce(f, text);
    if (!shown.ok || JSON.stringify(shown.value) !== JSON.stringify(value)) setText(displayValue(f, value));
  }

  const commit = (raw: string) => {
    setText(raw);
    const c = coerce(f, raw);
    if (c.ok) {
      setError(null);
      onChange(c.value);
    } else setError(c.error);
  };
  const err = error ?? serverError;
  const testid = `param-${f.key}`;
  // Where the cursor was last, so the secret picker (which takes the
  // focus) inserts there; at the end when the field was never focused.
  const sel = useRef<[number, number] | null>(null);
  const track = (e: { currentTarget: HTMLInputElement | HTMLTextAreaElement }) => {
    sel.current = [e.currentTarget.selectionStart ?? text.length, e.currentTarget.selectionEnd ?? text.length];
  };
  const insert = (ref: string) => {
    const [at, end] = sel.current && sel.current[1] <= text.length ? sel.current : [text.length, text.length];
    commit(text.slice(0, at) + ref + text.slice(end));
    sel.current = [at + ref.length, at + ref.length];
  };
  const picks = f.kind === 'string' || f.kind === 'text' || f.kind === 'json';
  // {{ inputs. completes the workflow's declared inputs.
  const complete = useInputCompletion(expression, commit);
  const onSelect = (e: { currentTarget: HTMLInputElement | HTMLTextAreaElement }) => {
    track(e);
    complete.onCaret(e);
  };

  let control;
  switch (f.kind) {
    case 'boolean':
      control = (
        <label className="fw-check">
          <input id={id} data-testid={testid} type="checkbox" checked={Boolean(value ?? f.default)} onChange={(e) => onChange(e.target.checked)} />
          <span>{f.label}</span>
        </label>
      );
      break;
    case 'enum':
      control = (
        <select id={id} data-testid={testid} value={text} onChange={(e) => commit(e.target.value)}>
          {!f.required && <option value="">—</option>}
          {f.required && value === undefined && <option value="">Choose…</option>}
          {(f.enumValues ?? []).map((v) => (
            <option key={JSON.stringify(v)} value={JSON.stringify(v)}>
              {String(v)}
            </option>
          ))}
        </select>
      );
      break;
    case 'text':
    case 'json':
      control = (
        <textarea
          onSelect={onSelect}
          onKeyDown={complete.onKeyDown}
          onBlur={complete.onBlur}
          id={id}
          data-testid={testid}
          className={f.kind === 'json' ? 'mono' : ''}
          rows={f.kind === 'json' ? 5 : 3}
          value={text}
          spellCheck={false}
          placeholder={f.kind === 'json' ? '{ }' : displayValue(f, f.default)}
          onChange={(e) => {
            commit(e.target.value);
            complete.onCaret(e);
          }}
        />
      );
      break;
    default:
      control = (
        <input
          onSelect={onSelect}
          onKeyDown={complete.onKeyDown}
          onBlur={complete.onBlur}
          id={id}
          data-testid={testid}
          type="text"
          inputMode={f.kind === 'number' || f.kind === 'integer' ? 'decimal' : undefined}
          value={text}
          placeholder={displayValue(f, f.default)}
          spellCheck={false}
          onChange={(e) => {
            commit(e.target.value);
            complete.onCaret(e);
          }}
        />
      );
  }
  return (
    <div className={`fw-field ${err ? 'has-error' : ''}`}>
      {f.kind !== 'boolean' && (
        <label htmlFor={id} className="fw-label">
          {f.label}
          {f.required && <span className="fw-required" title="required">*</span>}
          <span className="fw-type">{f.kind === 'text' ? 'string' : f.kind}</span>
          {picks && <SecretPicker onPick={insert} testid={testid} />}
        </label>
      )}
      {/* always wrapped: the control must not remount (and lose focus) when the list opens */}
      <div className="fw-complete-anchor">
        {control}
        {complete.popup}
      </div>
      {f.description && <div className="fw-help">{f.description}</div>}
      {err && <div className="fw-field-error">{err}</div>}
    </div>
  );
}
