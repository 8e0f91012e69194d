// Small inline SVG icons (stroke = currentColor), so the bundle needs no icon font.
import type { ReactNode } from 'react';

const I = ({ children, size = 16 }: { children: ReactNode; size?: number }) => (
  <svg width={size} height={size} viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth={2} strokeLinecap="round" strokeLinejoin="round" aria-hidden="true">
    {children}
  </svg>
);

export const Icon = {
  play: (p: { size?: number }) => <I {...p}><polygon points="6 4 20 12 6 20 6 4" /></I>,
  stop: (p: { size?: number }) => <I {...p}><rect x="6" y="6" width="12" height="12" rx="1" /></I>,
  save: (p: { size?: number }) => <I {...p}><path d="M19 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h11l5 5v11a2 2 0 0 1-2 2z" /><polyline points="17 21 17 13 7 13 7 21" /><polyline points="7 3 7 8 15 8" /></I>,
  undo: (p: { size?: number }) => <I {...p}><path d="M3 7v6h6" /><path d="M21 17a9 9 0 0 0-15-6.7L3 13" /></I>,
  redo: (p: { size?: number }) => <I {...p}><path d="M21 7v6h-6" /><path d="M3 17a9 9 0 0 1 15-6.7L21 13" /></I>,
  plus: (p: { size?: number }) => <I {...p}><line x1="12" y1="5" x2="12" y2="19" /><line x1="5" y1="12" x2="19" y2="12" /></I>,
  trash: (p: { size?: number }) => <I {...p}><polyline points="3 6 5 6 21 6" /><path d="M19 6l-1 14a2 2 0 0 1-2 2H8a2 2 0 0 1-2-2L5 6" /><path d="M10 11v6M14 11v6M9 6V4h6v2" /></I>,
  x: (p: { size?: number }) => <I {...p}><line x1="18" y1="6" x2="6" y2="18" /><line x1="6" y1="6" x2="18" y2="18" /></I>,
  folder: (p: { size?: number }) => <I {...p}><path d="M22 19a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h5l2 3h9a2 2 0 0 1 2 2z" /></I>,
  sun: (p: { size?: number }) => <I {...p}><circle cx="12" cy="12" r="4" /><path d="M12 2v2M12 20v2M4.9 4.9l1.4 1.4M17.7 17.7l1.4 1.4M2 12h2M20 12h2M4.9 19.1l1.4-1.4M17.7 6.3l1.4-1.4" /></I>,
  moon: (p: { size?: number }) => <I {...p}><path d="M21 12.8A9 9 0 1 1 11.2 3a7 7 0 0 0 9.8 9.8z" /></I>,
  activity: (p: { size?: number }) => <I {...p}><polyline points="22 12 18 12 15 21 9 3 6 12 2 12" /></I>,
  search: (p: { size?: number }) => <I {...p}><circle cx="11" cy="11" r="7" /><line x1="21" y1="21" x2="16.6" y2="16.6" /></I>,
  terminal: (p: { size?: number }) => <I {...p}><polyline points="4 17 10 11 4 5" /><line x1="12" y1="19" x2="20" y2="19" /></I>,
  clock: (p: { size?: number }) => <I {...p}><circle cx="12" cy="12" r="9" /><polyline points="12 7 12 12 15 14" /></I>,
  globe: (p: { size?: number }) => <I {...p}><circle cx="12" cy="12" r="9" /><path d="M3 12h18M12 3a14 14 0 0 1 0 18M12 3a14 14 0 0 0 0 18" /></I>,
  file: (p: { size?: number }) => <I {...p}><path d="M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8z" /><polyline points="14 2 14 8 20 8" /></I>,
  fn: (p: { size?: number }) => <I {...p}><path d="M9 20c2 0 3-2 3-4V8c0-2 1-4 3-4" /><line x1="8" y1="11" x2="15" y2="11" /></I>,
  message: (p: { size?: number }) => <I {...p}><path d="M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z" /></I>,
  plug: (p: { size?: number }) => <I {...p}><path d="M9 2v6M15 2v6M6 8h12v4a6 6 0 0 1-12 0z" /><path d="M12 18v4" /></I>,
  box: (p: { size?: number }) => <I {...p}><path d="M21 16V8l-9-5-9 5v8l9 5 9-5z" /><path d="M3.3 7 12 12l8.7-5M12 22V12" /></I>,
  alert: (p: { size?: number }) => <I {...p}><path d="M10.3 3.9 1.8 18a2 2 0 0 0 1.7 3h17a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0z" /><line x1="12" y1="9" x2="12" y2="13" /><line x1="12" y1="17" x2="12.01" y2="17" /></I>,
  check: (p: { size?: number }) => <I {...p}><polyline points="20 6 9 17 4 12" /></I>,
  chevronDown: (p: { size?: number }) => <I {...p}><polyline points="6 9 12 15 18 9" /></I>,
  history: (p: { size?: number }) => <I {...p}><path d="M3 3v5h5" /><path d="M3.05 13A9 9 0 1 0 6 5.3L3 8" /><polyline points="12 7 12 12 15 15" /></I>,
  list: (p: { size?: number }) => <I {...p}><line x1="8" y1="6" x2="21" y2="6" /><line x1="8" y1="12" x2="21" y2="12" /><line x1="8" y1="18" x2="21" y2="18" /><line x1="3" y1="6" x2="3.01" y2="6" /><line x1="3" y1="12" x2="3.01" y2="12" /><line x1="3" y1="18" x2="3.01" y2="18" /></I>,
  key: (p: { size?: number }) => <I {...p}><circle cx="7.5" cy="15.5" r="4.5" /><path d="M10.7 12.3 21 2M16 7l3 3M18.5 4.5l2 2" /></I>,
  more: (p: { size?: number }) => <I {...p}><circle cx="5" cy="12" r="1" /><circle cx="12" cy="12" r="1" /><circle cx="19" cy="12" r="1" /></I>,
  shield: (p: { size?: number }) => <I {...p}><path d="M12 22s8-4 8-10V5l-8-3-8 3v7c0 6 8 10 8 10z" /></I>,
  arrowDown: (p: { size?: number }) => <I {...p}><line x1="12" y1="5" x2="12" y2="19" /><polyline points="19 12 12 19 5 12" /></I>,
};
