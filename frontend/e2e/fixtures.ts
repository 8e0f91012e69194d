// The server under test: the real `flowweaver serve` binary, one instance per
// test on a free loopback port with its own data dir, plus a small REST client
// (a token minted by `flowweaver token`) for checks the UI does not show,
// such as GET /api/connections.

import { test as base, expect, type Page, type TestInfo } from '@playwright/test';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
export const binary = process.env.FLOWWEAVER_BIN ?? path.join(repoRoot, 'build', 'bin', 'flowweaver');
export const screensDir = path.join(repoRoot, 'artifacts', 'screens');

/** How long the server may take to print its two startup lines on a busy machine. */
const START_TIMEOUT = 60_000;
/** How long SIGTERM may take before we give up and SIGKILL (then fail the test). */
const STOP_TIMEOUT = 30_000;

export interface Project {
  id: string;
  name: string;
  path: string;
}

export interface WorkflowNode {
  id: string;
  tool: string;
  params?: Record<string, unknown>;
  position?: { x: number; y: number };
  retry?: { max: number };
  timeoutMs?: number;
}

export interface WorkflowDoc {
  name: string;
  nodes: WorkflowNode[];
  edges: { source: string; target: string }[];
}

export interface RunView {
  id: string;
  status: string;
  nodes?: { nodeId: string; status: string; error?: string }[];
  [k: string]: unknown;
}

export interface Connections {
  total: number;
  projects: Record<string, number>;
}

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what}: HTTP ${status}: ${body.slice(0, 300)}`);
  }
}

/**
 * One `flowweaver serve` process (restartable on the same port and data
 * dir) and the temporary folders of a test. stdout/stderr go to
 * server.log in the test's output dir, attached to the report.
 */
export class Flowweaver {
  readonly root: string;
  readonly dataDir: string;
  url = '';
  /** The login URL of the current process (`open http://.../#code=...`); its code works once. */
  loginUrl = '';
  private port = 0;
  private proc: ChildProcess | null = null;
  private exited: Promise<number | null> = Promise.resolve(null);
  private log: WriteStream;
  private tokenValue = '';
  /** Extra environment of the server process (e.g. HOME), applied from the next start. */
  env: Record<string, string> = {};
  private projectCount = 0;
  private starts = 0;

  constructor(private info: TestInfo) {
    this.root = mkdtempSync(path.join(os.tmpdir(), 'fw-e2e-'));
    this.dataDir = path.join(this.root, 'data');
    mkdirSync(this.dataDir);
    mkdirSync(info.outputDir, { recursive: true });
    this.log = createWriteStream(path.join(info.outputDir, 'server.log'));
  }

  /** Starts the server; `--addr 127.0.0.1:0` the first time, the same port afterwards. */
  async start(): Promise<void> {
    if (!existsSync(binary)) throw new Error(`${binary} is missing: run \`make build\` in the repo root first`);
    this.starts++;
    const addr = `127.0.0.1:${this.port}`;
    // A restart on the same port can race the old socket's release: retry a few times.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.spawnOnce(addr);
        return;
      } catch (e) {
        if (this.port === 0 || attempt >= 5 || !/address already in use/i.test(String(e))) throw e;
        await new Promise((r) => setTimeout(r, 500 * attempt));
      }
    }
  }

  private spawnOnce(addr: string): Promise<void> {
    const args = ['serve', '--addr', addr, '--data-dir', this.dataDir, '--workers', '4'];
    this.log.write(`\n=== start #${this.starts}: ${binary} ${args.join(' ')}\n`);
    const proc = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...this.env } });
    this.proc = proc;
    this.exited = new Promise((resolve) => proc.once('exit', (code, sig) => {
      this.log.write(`=== exit code=${code} signal=${sig}\n`);
      resolve(code);
    }));
    const stderr: string[] = [];
    proc.stderr.on('data', (b: Buffer) => {
      this.log.write(b);
      stderr.push(b.toString());
    });
    return new Promise<void>((resolve, reject) => {
      let listening = '';
      let login = '';
      const timer = setTimeout(() => fail(new Error(`flowweaver serve printed no listening/login lines within ${START_TIMEOUT} ms`)), START_TIMEOUT);
      const fail = (e: Error) => {
        clearTimeout(timer);
        proc.kill('SIGKILL');
        reject(new Error(`${e.message}\nstderr: ${stderr.join('').slice(-2000)}`));
      };
      const early = (code: number | null) => fail(new Error(`flowweaver serve exited with ${code} before it was ready`));
      proc.once('exit', early);
      createInterface({ input: proc.stdout }).on('line', (line) => {
        this.log.write(`[stdout] ${line}\n`);
        const l = /^flowweaver listening on (http:\/\/\S+)$/.exec(line.trim());
        if (l) listening = l[1];
        const o = /^open (http:\/\/\S+#code=\S+)$/.exec(line.trim());
        if (o) login = o[1];
        if (listening && login) {
          clearTimeout(timer);
          proc.off('exit', early);
          this.url = listening.replace(/\/$/, '');
          this.loginUrl = login;
          this.port = Number(new URL(this.url).port);
          resolve();
        }
      });
    });
  }

  /** SIGTERM and wait for exit; the server must exit 0 (docs/backend.md, Exit codes). */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    this.proc = null;
    proc.kill('SIGTERM');
    const code = await Promise.race([
      this.exited,
      new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), STOP_TIMEOUT)),
    ]);
    if (code === 'timeout') {
      proc.kill('SIGKILL');
      await this.exited;
      throw new Error(`flowweaver serve did not exit within ${STOP_TIMEOUT} ms of SIGTERM`);
    }
    if (code !== 0) throw new Error(`flowweaver serve exited with ${code} after SIGTERM (want 0)`);
  }

  /** kill -9: the server gets no chance to hand its runs back; a later start() recovers them. */
  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    this.proc = null;
    proc.kill('SIGKILL');
    await this.exited;
  }

  /** Stops the server and starts it again on the same port and data dir. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** A token for the REST checks, minted once by `flowweaver token` (the JWT key lives in the data dir). */
  async token(): Promise<string> {
    if (!this.tokenValue) {
      const { stdout } = await run(binary, ['token', '--data-dir', this.dataDir, '--ttl', '2h']);
      this.tokenValue = stdout.trim();
    }
    return this.tokenValue;
  }

  async api<T = unknown>(method: string, route: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Authorization: `Bearer ${await this.token()}`, Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(this.url + route, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    if (!res.ok) throw new ApiFailure(res.status, text, `${method} ${route}`);
    return (text ? JSON.parse(text) : null) as T;
  }

  /** A new empty folder under the test's temp root. */
  folder(name: string): string {
    const dir = path.join(this.root, 'projects', name);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** Creates a trusted project over REST (for tests where opening it through the dialog is not the point). */
  async project(name = `p${++this.projectCount}`): Promise<Project> {
    return this.api<Project>('POST', '/api/projects', { name, path: this.folder(name), trusted: true });
  }

  async putWorkflow(projectId: string, workflowId: string, wf: WorkflowDoc): Promise<number> {
    const r = await this.api<{ version: number }>('PUT', `/api/projects/${projectId}/workflows/${workflowId}`, wf);
    return r.version;
  }

  async startRun(projectId: string, workflowId: string): Promise<string> {
    const r = await this.api<{ runId: string }>('POST', `/api/projects/${projectId}/workflows/${workflowId}/runs`, { inputs: {} });
    return r.runId;
  }

  run(runId: string): Promise<RunView> {
    return this.api<RunView>('GET', `/api/runs/${runId}`);
  }

  async cancelRun(runId: string): Promise<void> {
    await this.api('POST', `/api/runs/${runId}/cancel`);
  }

  async runs(projectId: string): Promise<RunView[]> {
    const r = await this.api<RunView[] | { runs?: RunView[] } | null>('GET', `/api/projects/${projectId}/runs`);
    return Array.isArray(r) ? r : (r?.runs ?? []);
  }

  connections(): Promise<Connections> {
    return this.api<Connections>('GET', '/api/connections');
  }

  /**
   * The connections as `{total, byProject}` with projects holding none
   * left out, so a test can compare the whole picture with toEqual.
   */
  async connectionMap(): Promise<{ total: number; byProject: Record<string, number> }> {
    const c = await this.connections();
    const byProject: Record<string, number> = {};
    for (const [id, n] of Object.entries(c.projects ?? {})) if (n > 0) byProject[id] = n;
    return { total: c.total, byProject };
  }

  /** Connections of one project (0 when the project is not in the map). */
  async connectionsOf(projectId: string): Promise<number> {
    return (await this.connections()).projects?.[projectId] ?? 0;
  }

  /** Waits until the run's REST status is one of `statuses`. */
  async waitRun(runId: string, statuses: string[], timeout = 90_000): Promise<RunView> {
    let last: RunView | null = null;
    await expect
      .poll(
        async () => {
          last = await this.run(runId);
          return last.status;
        },
        { timeout, intervals: [200, 500, 1000], message: `run ${runId} to reach ${statuses.join('|')}` },
      )
      .toMatch(new RegExp(`^(${statuses.join('|')})$`));
    return last!;
  }

  /**
   * Opens the UI logged in. The first call of a server process uses the
   * printed one-time login URL (the real browser flow); later calls (new
   * pages, or after a restart when the code was already used) inject a
   * `flowweaver token` into sessionStorage, where the browser platform keeps
   * its session (src/platform/platform.ts, key `flowweaver.session`).
   */
  async openUI(page: Page): Promise<void> {
    if (this.loginUrl) {
      const url = this.loginUrl;
      this.loginUrl = '';
      await page.goto(url);
    } else {
      const token = await this.token();
      const { exp } = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as { exp: number };
      await page.addInitScript(
        ([t, e]) => window.sessionStorage.setItem('flowweaver.session', JSON.stringify({ token: t, expiresAt: e })),
        [token, exp * 1000] as const,
      );
      await page.goto(this.url + '/');
    }
    await expect(page.getByTestId('tabs').or(page.getByTestId('session-expired'))).toBeVisible();
    await expect(page.getByTestId('session-expired')).toHaveCount(0);
  }

  /** Stops the server and removes the temp dirs (kept when the test failed). */
  async dispose(): Promise<void> {
    let err: unknown = null;
    try {
      await this.stop();
    } catch (e) {
      err = e;
    }
    await new Promise<void>((r) => this.log.end(r));
    await this.info.attach('server.log', { path: path.join(this.info.outputDir, 'server.log'), contentType: 'text/plain' });
    if (this.info.status === this.info.expectedStatus) rmSync(this.root, { recursive: true, force: true });
    if (err) throw err instanceof Error ? err : new Error('stopping the server failed', { cause: err });
  }
}

export const test = base.extend<{ fw: Flowweaver }>({
  // eslint-disable-next-line no-empty-pattern -- Playwright reads a fixture's dependencies from this object pattern; it must be one even when empty.
  fw: async ({}, use, testInfo) => {
    const fw = new Flowweaver(testInfo);
    await fw.start();
    await use(fw);
    await fw.dispose();
  },
});

export { expect };

/** Saves a full-page screenshot of a key screen to artifacts/screens/<name>.png. */
export async function screen(page: Page, name: string): Promise<void> {
  mkdirSync(screensDir, { recursive: true });
  await page.screenshot({ path: path.join(screensDir, `${name}.png`), animations: 'disabled' });
}
