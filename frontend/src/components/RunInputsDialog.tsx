import { useEffect, useMemo, useRef, useState } from 'react';
import { declsFromSchema, initialForm, parseForm, type FormValue, type InputDecl } from '../inputs/model';
import { lastInputs } from '../inputs/run';
import { useStore } from '../store/store';
import { useTab } from './hooks';
import { Icon } from './icons';
import './inputs.css';

/**
 * The run form: one typed field per declared input, pre-filled with the
 * last values used for this workflow (else the defaults), the description
 * as help. Enter (Ctrl+Enter in a JSON field) runs, Escape cancels. The
 * server checks the inputs too: what it refuses comes back here.
 */
export function RunInputsDialog() {
  const tab = useTab();
  const form = useStore(tab, (s) => s.runForm);
  if (!form) return null;
  // keyed: a refused start reopens the form with what was sent
  return <Dialog key={form.values ? 'refused' : 'new'} serverErrors={form.errors} sent={form.values} />;
}

function Dialog({ serverErrors, sent }: { serverErrors?: Record<string, string>; sent?: Record<string, unknown> }) {
  const tab = useTab();
  const schema = useStore(tab, (s) => s.inputs);
  const name = useStore(tab, (s) => s.name);
  const workflowId = useStore(tab, (s) => s.workflowId);
  const decls = useMemo(() => declsFromSchema(schema), [schema]);
  const [values, setValues] = useState<Record<string, FormValue>>(() => initialForm(decls, sent ?? lastInputs(tab.id, workflowId)));
  const [errors, setErrors] = useState<Record<string, string>>(serverErrors ?? {});
  const [tried, setTried] = useState(!!serverErrors);
  const box = useRef<HTMLFormElement>(null);
  useEffect(() => {
    const first = box.current?.querySelector<HTMLElement>('input, textarea');
    first?.focus();
  }, []);

  const set = (k: string, v: FormValue) => {
    const next = { ...values, [k]: v };
    setValues(next);
    // After a first try, messages follow the typing.
    if (tried) setErrors(parseForm(decls, next).errors);
  };
  const submit = () => {
    const r = parseForm(decls, values);
    setTried(true);
    setErrors(r.errors);
    if (Object.keys(r.errors).length) {
      box.current?.querySelector<HTMLElement>('.has-error input, .has-error textarea')?.focus();
      return;
    }
    void tab.submitRunInputs(r.values);
  };
  const reset = () => {
    setValues(initialForm(decls, null));
    setErrors({});
    setTried(false);
  };

  return (
    <div className="fw-modal-back" onMouseDown={(e) => e.target === e.currentTarget && tab.closeRunForm()}>
      <div className="fw-modal fw-run-inputs" role="dialog" aria-label={`Run ${name}`} data-testid="run-inputs">
        <div className="fw-modal-head">
          <Icon.play size={15} />
          <span>Run “{name}”</span>
          <span className="fw-grow" />
          <button type="button" className="fw-btn ghost xs icon" onClick={() => tab.closeRunForm()} title="Cancel (Escape)">
            <Icon.x size={14} />
          </button>
        </div>
        <form
          ref={box}
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            submit();
          }}
          onKeyDown={(e) => {
            if (e.key === 'Escape') {
              e.preventDefault();
              tab.closeRunForm();
            } else if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
              // Here Ctrl+Enter runs these values; it must not reach the tab's run shortcut.
              e.preventDefault();
              e.stopPropagation();
              submit();
            }
          }}
        >
          <div className="fw-form">
            {decls.map((d) => (
              <InputField key={d.name} decl={d} value={values[d.name]} error={errors[d.name]} onChange={(v) => set(d.name, v)} />
            ))}
          </div>
          <div className="fw-modal-actions">
            <button type="button" className="fw-btn ghost sm fw-run-inputs-reset" data-testid="run-inputs-reset" onClick={reset} title="Put the declared defaults back">
              Defaults
            </button>
            <span className="fw-grow" />
            <button type="button" className="fw-btn ghost sm" data-testid="run-inputs-cancel" onClick={() => tab.closeRunForm()}>
              Cancel
            </button>
            <button type="submit" className="fw-btn primary sm" data-testid="run-inputs-submit">
              <Icon.play size={12} /> Run
            </button>
          </div>
          <div className="fw-muted small fw-run-inputs-hint">Enter runs · Esc cancels · later, Ctrl+Enter reruns with these</div>
        </form>
      </div>
    </div>
  );
}

function InputField({ decl: d, value, error, onChange }: { decl: InputDecl; value: FormValue | undefined; error?: string; onChange: (v: FormValue) => void }) {
  const id = `run-input-${d.name}`;
  const testid = `run-input-${d.name}`;
  let control;
  if (d.type === 'boolean') {
    control = (
      <label className="fw-check">
        <input id={id} data-testid={testid} type="checkbox" checked={value === true} onChange={(e) => onChange(e.target.checked)} />
        <span className="mono">{d.name}</span>
      </label>
    );
  } else if (d.type === 'object' || d.type === 'array') {
    control = (
      <textarea
        id={id}
        data-testid={testid}
        className="mono"
        rows={4}
        spellCheck={false}
        value={typeof value === 'string' ? value : ''}
        placeholder={d.type === 'array' ? '[ ]' : '{ }'}
        aria-invalid={!!error}
        onChange={(e) => onChange(e.target.value)}
      />
    );
  } else {
    control = (
      <input
        id={id}
        data-testid={testid}
        type="text"
        inputMode={d.type === 'string' ? undefined : 'decimal'}
        spellCheck={false}
        autoComplete="off"
        value={typeof value === 'string' ? value : ''}
        aria-invalid={!!error}
        onChange={(e) => onChange(e.target.value)}
      />
    );
  }
  return (
    <div className={`fw-field ${error ? 'has-error' : ''}`}>
      {d.type !== 'boolean' && (
        <label htmlFor={id} className="fw-label">
          <span className="mono">{d.name}</span>
          {d.required && <span className="fw-required" title="required">*</span>}
          <span className="fw-type">{d.type}</span>
        </label>
      )}
      {control}
      {d.description && <div className="fw-help">{d.description}</div>}
      {error && (
        <div className="fw-field-error" data-testid={`${testid}-error`}>
          {error}
        </div>
      )}
    </div>
  );
}
