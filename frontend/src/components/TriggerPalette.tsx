import type { CSSProperties, ReactNode } from 'react';
import type { TriggerType } from '../api/types';
import { DRAG_MIME } from '../canvas/Canvas';
import { triggerAccent } from '../canvas/TriggerNode';
import { TRIGGER_NODE_PREFIX, TRIGGER_TYPES, triggerTitle } from '../triggers/model';
import { useTab } from './hooks';
import { Icon } from './icons';

const blurb: Record<TriggerType, string> = {
  schedule: 'Runs on a cron schedule',
  webhook: 'Runs when its secret URL is called',
  files: 'Runs when matching files change',
};

const icon: Record<TriggerType, ReactNode> = {
  schedule: <Icon.clock size={15} />,
  webhook: <Icon.globe size={15} />,
  files: <Icon.file size={15} />,
};

/**
 * The "Triggers" group of the palette: drag one onto the canvas,
 * double-click it, or focus it and press Enter. `focusKey` is the palette's
 * one tab stop (roving focus, see Palette).
 */
export function TriggerPaletteGroup({ focusKey }: { focusKey?: string }) {
  const tab = useTab();
  return (
    <div className="fw-palette-group" data-testid="palette-triggers">
      <div className="fw-palette-group-title">Triggers</div>
      {TRIGGER_TYPES.map((type) => (
        <div
          key={type}
          className="fw-palette-item"
          draggable
          data-testid={`palette-trigger-${type}`}
          data-pkey={`trigger:${type}`}
          role="option"
          aria-selected={focusKey === `trigger:${type}`}
          tabIndex={focusKey === `trigger:${type}` ? 0 : -1}
          onKeyDown={(e) => {
            if (e.key !== 'Enter' && e.key !== ' ') return;
            e.preventDefault();
            tab.addTrigger(type);
          }}
          title={`${blurb[type]}.\nDrag onto the canvas, double-click, or press Enter to add.`}
          style={{ '--accent': triggerAccent[type] } as CSSProperties}
          onDragStart={(e) => {
            e.dataTransfer.setData(DRAG_MIME, TRIGGER_NODE_PREFIX + type);
            e.dataTransfer.effectAllowed = 'copy';
          }}
          onDoubleClick={() => tab.addTrigger(type)}
        >
          <span className="fw-palette-icon">{icon[type]}</span>
          <div className="fw-palette-text">
            <div className="fw-palette-name">{triggerTitle[type]}</div>
            <div className="fw-palette-desc">{blurb[type]}</div>
          </div>
        </div>
      ))}
    </div>
  );
}
