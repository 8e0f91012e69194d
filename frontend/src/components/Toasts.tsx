import { useStore } from '../store/store';
import type { Toasts as ToastStore } from '../store/toasts';
import { Icon } from './icons';

export function Toasts({ toasts }: { toasts: ToastStore }) {
  const items = useStore(toasts, (s) => s.items);
  return (
    <div className="fw-toasts" aria-live="polite">
      {items.map((t) => (
        <div key={t.id} className={`fw-toast t-${t.level}`} data-testid="toast" data-level={t.level} role="status">
          <span className="fw-toast-icon">{t.level === 'success' ? <Icon.check size={15} /> : t.level === 'info' ? <Icon.message size={15} /> : <Icon.alert size={15} />}</span>
          <div className="fw-toast-body">
            <div className="fw-toast-title">
              {t.title}
              {t.source && <span className="fw-toast-source">{t.source}</span>}
            </div>
            {t.message && <div className="fw-toast-msg">{t.message}</div>}
          </div>
          {t.action && (
            <button
              className="fw-btn sm"
              data-testid="toast-action"
              onClick={() => {
                toasts.dismiss(t.id);
                t.action!.run();
              }}
            >
              {t.action.label}
            </button>
          )}
          <button className="fw-btn ghost xs icon" onClick={() => toasts.dismiss(t.id)} title="Dismiss">
            <Icon.x size={12} />
          </button>
        </div>
      ))}
    </div>
  );
}
