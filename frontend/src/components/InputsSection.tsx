import { useState } from 'react';
import { declsFromSchema, INPUT_TYPES, nameProblem, newInputName, parseValue, renameInSchema, schemaFromDecls, toText, type InputDecl, type InputType } from '../inputs/model';
import { useStore } from '../store/store';
import { useTab } from './hooks';
import { Icon } from './icons';
import './inputs.css';

/**
 * The workflow's declared run inputs, in the workflow inspector: name,
 * type, default, description and required per input. Saved with the
 * workflow as a JSON Schema (docs/workflows.md, Inputs); Run then opens a
 * form with these fields and {{ inputs. completes their names.
 */
export function InputsSection() {
  const tab = useTab();
  const schema = useStore(tab, (s) => s.inputs);
  const problems = useStore(tab, (s) => s.problems.filter((p) => p.field.startsWith('inputs')));
  const decls = declsFromSchema(schema);
  const commit = (next: InputDecl[], key = '', base = schema) => tab.setInputs(schemaFromDecls(next, base), key);
  const update = (i: number, patch: Partial<InputDecl>, key: string) => {
    const base = patch.name !== undefined ? renameInSchema(schema, decls[i].name, patch.name) : schema;
    commit(
      decls.map((d, j) => (j === i ? { ...d, ...patch } : d)),
      `${i}:${key}`,
      base,
    );
  };
  // A name is committed only when it is valid: two inputs of one name would become one.
  const checkName = (i: number, name: string) => nameProblem(decls.map((d, j) => (j === i ? { ...d, name } : d)), i);
  return (
    <section className="fw-insp-section fw-inputs" data-testid="inputs-section">
      <div className="fw-section-title fw-inputs-title">
        <span>Inputs</span>
        <span className="fw-grow" />
        <button
          type="button"
          className="fw-btn ghost xs"
          data-testid="inputs-add"
          title="Declare an input: Run then asks for it"
          onClick={() => commit([...decls, { name: newInputName(decls), type: 'string', required: false }])}
        >
          <Icon.plus size={12} /> Add input
        </button>
      </div>
      {!decls.length && (
        <div className="fw-help">
          None declared: Run starts at once. Declare inputs to get a run form and <span className="mono">{'{{ inputs.name }}'}</span> completions.
        </div>
      )}
      {problems.map((p, i) => (
        <div key={i} className="fw-banner error small" data-testid="inputs-problem">
          <span className="mono small">{p.field}</span> {p.message}
        </div>
      ))}
      {decls.map((d, i) => (
        // keyed by position: renaming keeps the row (and its focus)
        <InputRow key={i} decl={d} checkName={(n) => checkName(i, n)} onChange={(patch, key) => update(i, patch, key)} onRemove={() => commit(decls.filter((_, j) => j !== i))} />
      ))}
    </section>
  );
}

function InputRow({
  decl: d,
  checkName,
  onChange,
  onRemove,
}: {
  decl: InputDecl;
  checkName: (name: string) => string | null;
  onChange: (patch: Partial<InputDecl>, key: string) => void;
  onRemove: () => void;
}) {
  const [name, setName] = useState(d.name);
  const [seenName, setSeenName] = useState(d.name);
  if (d.name !== seenName) {
    setSeenName(d.name);
    setName(d.name);
  }
  const nameError = name === d.name ? null : checkName(name);
  const t = `input-${d.name}`;
  return (
    <div className="fw-input-decl" data-testid="input-decl" data-name={d.name}>
      <div className="fw-input-decl-head">
        <input
          className={`mono fw-input-name ${nameError ? 'is-invalid' : ''}`}
          data-testid={`${t}-name`}
          aria-label="Input name"
          value={name}
          spellCheck={false}
          onChange={(e) => {
            const next = e.target.value;
            setName(next);
            if (!checkName(next)) onChange({ name: next }, 'name');
          }}
          onBlur={() => setName(d.name)}
        />
        <select data-testid={`${t}-type`} aria-label="Type" value={d.type} onChange={(e) => onChange({ type: e.target.value as InputType, default: undefined }, 'type')}>
          {INPUT_TYPES.map((x) => (
            <option key={x} value={x}>
              {x}
            </option>
          ))}
        </select>
        <button type="button" className="fw-btn ghost xs icon" data-testid={`${t}-remove`} title="Remove this input" onClick={onRemove}>
          <Icon.trash size={12} />
        </button>
      </div>
      {nameError && <div className="fw-field-error">{nameError}</div>}
      {/* keyed by type: another type starts from an empty default */}
      <DefaultField key={`${d.name}:${d.type}`} decl={d} onChange={(v) => onChange({ default: v }, 'default')} testid={`${t}-default`} />
      <input
        className="fw-input-desc"
        data-testid={`${t}-description`}
        aria-label="Description"
        placeholder="Description (help text in the run form)"
        value={d.description ?? ''}
        onChange={(e) => onChange({ description: e.target.value || undefined }, 'description')}
      />
      <label className="fw-check small">
        <input type="checkbox" data-testid={`${t}-required`} checked={d.required} onChange={(e) => onChange({ required: e.target.checked }, 'required')} />
        <span>Required</span>
      </label>
    </div>
  );
}

/** The default, typed: text kept locally so an invalid number or JSON can be typed through. */
function DefaultField({ decl: d, onChange, testid }: { decl: InputDecl; onChange: (v: unknown) => void; testid: string }) {
  const [text, setText] = useState(() => (d.type === 'boolean' ? '' : (toText(d.type, d.default) as string)));
  const [error, setError] = useState<string | null>(null);
  if (d.type === 'boolean') {
    return (
      <select data-testid={testid} aria-label="Default" value={d.default === true ? 'true' : d.default === false ? 'false' : ''} onChange={(e) => onChange(e.target.value === '' ? undefined : e.target.value === 'true')}>
        <option value="">No default (false)</option>
        <option value="true">Default: true</option>
        <option value="false">Default: false</option>
      </select>
    );
  }
  const json = d.type === 'object' || d.type === 'array';
  const props = {
    'data-testid': testid,
    'aria-label': 'Default',
    className: json ? 'mono' : undefined,
    placeholder: 'Default (optional)',
    spellCheck: false,
    value: text,
    onChange: (e: { target: { value: string } }) => {
      setText(e.target.value);
      const r = parseValue({ ...d, required: false }, e.target.value);
      if (r.ok) {
        setError(null);
        onChange(r.value);
      } else setError(r.error);
    },
  };
  return (
    <div className={error ? 'fw-field has-error' : 'fw-field'}>
      {json ? <textarea rows={2} {...props} /> : <input type="text" inputMode={d.type === 'string' ? undefined : 'decimal'} {...props} />}
      {error && <div className="fw-field-error">{error}</div>}
    </div>
  );
}
