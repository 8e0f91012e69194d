import { createContext, useContext, useEffect, useState } from 'react';
import type { ProjectTab } from '../store/project';

/** The tab whose view is rendering (node components read run state through it). */
export const TabContext = createContext<ProjectTab | null>(null);

export function useTab(): ProjectTab {
  const t = useContext(TabContext);
  if (!t) throw new Error('useTab outside a project view');
  return t;
}

/** The current time, re-rendering every `ms` while `active` (elapsed-time counters). */
export function useNow(active: boolean, ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const tick = () => setNow(Date.now());
    const first = setTimeout(tick, 0); // catch up at once after a pause
    const t = setInterval(tick, ms);
    return () => {
      clearTimeout(first);
      clearInterval(t);
    };
  }, [active, ms]);
  return now;
}
