import type { ReactNode } from 'react';
import { Icon } from '../components/icons';
import { ControlIcon } from './controlIcons';

/**
 * How each kind of tool looks on the canvas: accent colour, icon and a
 * one-line summary of its params. One entry per built-in tool; MCP tools
 * (`mcp:<server>/<tool>`) and unknown tools share a generic entry.
 */
export interface NodeKind {
  icon: ReactNode;
  accent: string;
  summary: (params: Record<string, unknown>) => string;
}

const str = (v: unknown) => (v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v));

const kinds: Record<string, NodeKind> = {
  shell: { icon: <Icon.terminal />, accent: '#22c55e', summary: (p) => str(p.command) },
  delay: { icon: <Icon.clock />, accent: '#eab308', summary: (p) => (p.ms !== undefined ? `${str(p.ms)} ms` : '') },
  http: { icon: <Icon.globe />, accent: '#3b82f6', summary: (p) => [str(p.method || 'GET'), str(p.url)].filter(Boolean).join(' ') },
  'file.read': { icon: <Icon.file />, accent: '#a855f7', summary: (p) => str(p.path) },
  'file.write': { icon: <Icon.file />, accent: '#d946ef', summary: (p) => str(p.path) },
  transform: { icon: <Icon.fn />, accent: '#f97316', summary: (p) => str(p.expression) },
  log: { icon: <Icon.message />, accent: '#14b8a6', summary: (p) => str(p.message) },
  if: { icon: <ControlIcon.branch />, accent: '#0ea5e9', summary: (p) => str(p.condition) },
  switch: { icon: <ControlIcon.branch />, accent: '#6366f1', summary: (p) => str(p.value) },
  workflow: { icon: <ControlIcon.layers />, accent: '#8b5cf6', summary: (p) => (p.workflowId ? `runs ${str(p.workflowId)}` : '') },
  forEach: {
    icon: <ControlIcon.repeat />,
    accent: '#f43f5e',
    summary: (p) => [p.workflowId ? str(p.workflowId) : '', p.items ? `for each of ${str(p.items)}` : ''].filter(Boolean).join(' '),
  },
};

const mcp: NodeKind = { icon: <Icon.plug />, accent: '#ec4899', summary: (p) => summarize(p) };
const generic: NodeKind = { icon: <Icon.box />, accent: '#64748b', summary: (p) => summarize(p) };

function summarize(p: Record<string, unknown>): string {
  const first = Object.entries(p ?? {})[0];
  return first ? `${first[0]}: ${str(first[1])}` : '';
}

export function nodeKind(tool: string): NodeKind {
  if (kinds[tool]) return kinds[tool];
  if (tool.startsWith('mcp:')) return mcp;
  return generic;
}

/** A short display name: `mcp:git/status` -> `git/status`. */
export function toolShortName(tool: string): string {
  return tool.startsWith('mcp:') ? tool.slice(4) : tool;
}
