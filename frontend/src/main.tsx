import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import '@xyflow/react/dist/style.css';
import './styles.css';
import { App } from './components/App';
import { detectPlatform } from './platform/platform';
import { Session } from './platform/session';
import { applyTheme, initialTheme } from './components/theme';

applyTheme(initialTheme());
const session = new Session(detectPlatform(window));
void session.start();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App session={session} />
  </StrictMode>,
);
