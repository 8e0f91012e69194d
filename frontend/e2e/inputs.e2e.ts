// Run inputs: a workflow that declares its inputs (a JSON Schema in the
// workflow file) opens a form on Run; the values reach {{ inputs.x }} in a
// node, Ctrl+Enter reruns with the last values without the form, and what
// the server refuses comes back into the form. A workflow without inputs
// runs at once. Inputs are declared in the workflow inspector, and
// {{ inputs. completes their names in a node's params.

import { expect, screen, test, type RunView, type WorkflowDoc } from './fixtures';
import { logLines, node, openKnown, projectView } from './ui';

const greet = {
  name: 'Greet',
  inputs: {
    type: 'object',
    properties: {
      who: { type: 'string', description: 'whom to greet, capitalised', pattern: '^[A-Z]' },
      times: { type: 'integer', default: 2, description: 'how often' },
    },
    required: ['who'],
  },
  nodes: [{ id: 'say', tool: 'shell', params: { command: 'echo "hello {{ inputs.who }} x{{ inputs.times }}"' }, position: { x: 0, y: 0 } }],
  edges: [],
} as WorkflowDoc;

const inputsOf = (r: RunView) => {
  const { trigger: _t, ...given } = (r.inputs ?? {}) as Record<string, unknown>;
  return given;
};

test('inputs form values reach {{ inputs.x }}, Ctrl+Enter reuses the last values', async ({ fw, page }) => {
  const p = await fw.project('inputs');
  await fw.putWorkflow(p.id, 'greet', greet);
  await fw.openUI(page);
  await openKnown(page, p);
  const view = projectView(page, p.id);
  await expect(node(view, 'say')).toBeVisible();

  // Run opens the form: typed fields, the default filled in, the description as help.
  await view.getByTestId('run').click();
  const form = page.getByTestId('run-inputs');
  await expect(form).toBeVisible();
  await expect(form.getByTestId('run-input-times')).toHaveValue('2');
  await expect(form.getByTestId('run-input-who')).toHaveValue('');
  await expect(form).toContainText('whom to greet, capitalised');
  await expect(form.getByTestId('run-input-who')).toBeFocused();

  // A required input left empty: the form says so and starts nothing.
  await page.keyboard.press('Enter');
  await expect(form.getByTestId('run-input-who-error')).toHaveText('required');
  await form.getByTestId('run-input-times').fill('2.5');
  await expect(form.getByTestId('run-input-times-error')).toHaveText('must be a whole number');
  await form.getByTestId('run-input-times').fill('3');
  await expect(form.getByTestId('run-input-times-error')).toHaveCount(0);
  expect(await fw.runs(p.id)).toHaveLength(0);

  // What only the server checks (the pattern) comes back into the form.
  await form.getByTestId('run-input-who').fill('ada');
  await page.keyboard.press('Enter');
  await expect(form.getByTestId('run-input-who-error')).toContainText('does not match pattern');
  await expect(form.getByTestId('run-input-who')).toHaveValue('ada');
  expect(await fw.runs(p.id)).toHaveLength(0);

  await form.getByTestId('run-input-who').fill('Ada');
  await screen(page, 'run-inputs-form');
  await page.keyboard.press('Enter');
  await expect(form).toBeHidden();
  await expect(logLines(view).filter({ hasText: 'hello Ada x3' })).toHaveCount(1, { timeout: 60_000 });
  await expect(view.getByTestId('run-status')).toHaveText('succeeded', { timeout: 60_000 });
  await expect(view.getByTestId('run-inputs-summary')).toHaveText('who=Ada · times=3');
  let runs = await fw.runs(p.id);
  expect(runs).toHaveLength(1);
  expect(inputsOf(await fw.run(runs[0].id))).toEqual({ who: 'Ada', times: 3 });

  // Ctrl+Enter: the same values again, without the form.
  await view.getByTestId('canvas').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('Control+Enter');
  await expect.poll(async () => (await fw.runs(p.id)).length, { timeout: 30_000 }).toBe(2);
  await expect(form).toHaveCount(0);
  runs = await fw.runs(p.id);
  for (const r of runs) expect(inputsOf(await fw.waitRun(r.id, ['succeeded']))).toEqual({ who: 'Ada', times: 3 });
  await expect(logLines(view).filter({ hasText: 'hello Ada x3' })).toHaveCount(1, { timeout: 60_000 });

  // The history shows what each run was given.
  await view.getByTestId('panel-history').click();
  await expect(view.getByTestId('history-row')).toHaveCount(2, { timeout: 30_000 });
  await expect(view.getByTestId('history-inputs').first()).toHaveText('who=Ada · times=3');

  // Run again: the form remembers the last values; Escape cancels.
  await view.getByTestId('run').click();
  await expect(form.getByTestId('run-input-who')).toHaveValue('Ada');
  await expect(form.getByTestId('run-input-times')).toHaveValue('3');
  await page.keyboard.press('Escape');
  await expect(form).toHaveCount(0);

  // After a reload too (kept per workflow in this browser).
  await page.reload();
  await expect(node(projectView(page, p.id), 'say')).toBeVisible();
  await projectView(page, p.id).getByTestId('run').click();
  await expect(page.getByTestId('run-input-who')).toHaveValue('Ada');
  await page.getByTestId('run-inputs-cancel').click();
  await expect(page.getByTestId('run-inputs')).toHaveCount(0);
  expect(await fw.runs(p.id)).toHaveLength(2);
});

test('a workflow without inputs runs at once; inputs declared in the inspector complete in params', async ({ fw, page }) => {
  const p = await fw.project('declare');
  await fw.putWorkflow(p.id, 'plain', {
    name: 'Plain',
    nodes: [{ id: 'say', tool: 'shell', params: { command: 'echo plain' }, position: { x: 0, y: 0 } }],
    edges: [],
  });
  await fw.openUI(page);
  await openKnown(page, p);
  const view = projectView(page, p.id);
  await expect(node(view, 'say')).toBeVisible();

  // No inputs: Run and Ctrl+Enter start at once, no form.
  await view.getByTestId('run').click();
  await expect(view.getByTestId('run-status')).toHaveText('succeeded', { timeout: 60_000 });
  await expect(page.getByTestId('run-inputs')).toHaveCount(0);
  await expect(logLines(view).filter({ hasText: 'plain' })).toHaveCount(1);
  await view.getByTestId('canvas').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('Control+Enter');
  await expect.poll(async () => (await fw.runs(p.id)).length, { timeout: 30_000 }).toBe(2);
  await expect(page.getByTestId('run-inputs')).toHaveCount(0);

  // Declare an input in the workflow inspector.
  const section = view.getByTestId('inputs-section');
  await section.getByTestId('inputs-add').click();
  const row = section.getByTestId('input-decl');
  await expect(row).toHaveCount(1);
  await row.getByTestId('input-input-name').fill('who');
  await expect(row).toHaveAttribute('data-name', 'who');
  await row.getByTestId('input-who-default').fill('World');
  await row.getByTestId('input-who-description').fill('whom to greet');
  // A second input may not take the same name.
  await section.getByTestId('inputs-add').click();
  await section.getByTestId('input-decl').nth(1).getByTestId('input-input-name').fill('who');
  await expect(section.getByTestId('input-decl').nth(1)).toContainText('another input has this name');
  await section.getByTestId('input-input-remove').click();
  await expect(section.getByTestId('input-decl')).toHaveCount(1);

  // In a node's param, {{ inputs. offers the declared names.
  await node(view, 'say').click();
  const command = view.getByTestId('param-command');
  await command.click();
  await command.press('Control+End');
  await command.pressSequentially(' {{ inputs.');
  const list = view.getByTestId('inputs-completion');
  await expect(list).toBeVisible();
  await expect(list.getByTestId('inputs-completion-who')).toContainText('whom to greet');
  await command.press('Enter');
  await expect(list).toHaveCount(0);
  await expect(command).toHaveValue('echo plain {{ inputs.who }}');

  // A reference to an undeclared input is a problem (saving stays allowed).
  await command.press('Control+End');
  await command.pressSequentially(' {{ inputs.whom }}');
  await expect(view.getByTestId('inspector-undeclared-input')).toContainText('“whom” is not a declared input');
  await view.getByTestId('panel-problems').click();
  await expect(view.getByTestId('problem-undeclared-input')).toHaveCount(1);
  await command.fill('echo plain {{ inputs.who }}');
  await expect(view.getByTestId('problem-undeclared-input')).toHaveCount(0);

  // Saved into the file as JSON Schema; Run now asks, with the default filled in.
  await page.keyboard.press('Control+s');
  await expect(view.getByTestId('save-state')).toHaveText(/Saved · v2/);
  const saved = await fw.api<{ inputs?: unknown }>('GET', `/api/projects/${p.id}/workflows/plain`);
  expect(saved.inputs).toEqual({ type: 'object', properties: { who: { type: 'string', description: 'whom to greet', default: 'World' } } });
  await view.getByTestId('panel-logs').click();
  await view.getByTestId('run').click();
  const form = page.getByTestId('run-inputs');
  await expect(form.getByTestId('run-input-who')).toHaveValue('World');
  await page.keyboard.press('Enter');
  await expect(form).toHaveCount(0);
  await expect(logLines(view).filter({ hasText: 'plain World' })).toHaveCount(1, { timeout: 60_000 });
});
