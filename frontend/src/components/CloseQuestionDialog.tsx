import { useEffect, useRef, useState } from 'react';
import type { CloseChoice, CloseQuestion, Platform } from '../platform/platform';

/**
 * The desktop window's question when it is closed while triggers are
 * active: keep the backend running with the window hidden, quit, or stay.
 * "Remember my choice" makes the shell answer the same way next time
 * (File > When Closing the Window changes it back). Renders nothing in a
 * browser.
 */
export function CloseQuestionDialog({ platform }: { platform: Platform }) {
  const [question, setQuestion] = useState<CloseQuestion | null>(null);
  useEffect(() => platform.onCloseRequest?.((q) => setQuestion(q)), [platform]);
  if (!question || !platform.answerClose) return null;
  const answer = platform.answerClose;
  return <CloseQuestionView question={question} onAnswer={(c, r) => {
    setQuestion(null);
    void answer(c, r).catch(() => undefined);
  }} />;
}

export function CloseQuestionView({
  question,
  onAnswer,
}: {
  question: CloseQuestion;
  onAnswer: (choice: CloseChoice, remember: boolean) => void;
}) {
  const [remember, setRemember] = useState(false);
  const keep = useRef<HTMLButtonElement>(null);
  // The safe default: Enter keeps serving schedules and webhooks.
  useEffect(() => keep.current?.focus(), []);
  return (
    <div className="fw-modal-back">
      <div
        className="fw-modal"
        role="dialog"
        aria-modal="true"
        aria-labelledby="close-q-title"
        data-testid="close-question"
        onKeyDown={(e) => e.key === 'Escape' && onAnswer('cancel', false)}
      >
        <div className="fw-modal-head" id="close-q-title">
          Keep Flow Weaver running in the background?
        </div>
        <p className="fw-muted">{question.message}</p>
        <label className="fw-check">
          <input type="checkbox" checked={remember} onChange={(e) => setRemember(e.target.checked)} data-testid="close-remember" />
          Remember my choice (change it in File › When Closing the Window)
        </label>
        <div className="fw-modal-actions">
          <button className="fw-btn" onClick={() => onAnswer('cancel', false)} data-testid="close-cancel">
            Cancel
          </button>
          <button className="fw-btn" onClick={() => onAnswer('quit', remember)} data-testid="close-quit">
            Quit
          </button>
          <button ref={keep} className="fw-btn primary" onClick={() => onAnswer('background', remember)} data-testid="close-background">
            Keep running in the background
          </button>
        </div>
      </div>
    </div>
  );
}
