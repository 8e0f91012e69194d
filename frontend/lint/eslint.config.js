// ESLint flat config for the UI (run from frontend/ as `npm run lint`).
//
// Rule sets, deliberately few:
// - @eslint/js recommended: plain JavaScript mistakes.
// - typescript-eslint recommendedTypeChecked: rules that need types, above
//   all no-floating-promises and no-misused-promises (a forgotten `await` in
//   the UI or in a Playwright test is a silent bug).
// - eslint-plugin-react-hooks recommended: rules of hooks, exhaustive deps and
//   the React Compiler checks (refs, purity, setState in effects).
// Every finding is an error (`--max-warnings 0` in package.json).
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import tseslint from 'typescript-eslint';

const frontend = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export default tseslint.config(
  {
    // Patterns below are relative to frontend/, not to this folder.
    basePath: frontend,
    ignores: ['dist/**', 'node_modules/**', 'lint/**', 'test-results/**', 'playwright-report/**', 'wailsjs/**'],
  },
  {
    basePath: frontend,
    files: ['**/*.{ts,tsx}'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        // One TypeScript program per tsconfig: tsconfig.json (the app) and
        // e2e/tsconfig.json (Playwright tests, typed for Node).
        projectService: {
          // playwright.config.ts sits beside tsconfig.json, which is the app's
          // program; it is typed with the e2e program's options instead.
          allowDefaultProject: ['playwright.config.ts'],
          defaultProject: 'e2e/tsconfig.json',
        },
        tsconfigRootDir: frontend,
      },
    },
    rules: {
      // `_name` marks a parameter that an interface requires but this
      // implementation does not use.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // An async function is fine as a JSX event handler (onClick={async
      // () => ...}): React ignores its result, and the handlers catch their
      // own errors. Everywhere else (callbacks, listeners, timers) a promise
      // where void is expected stays an error.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { attributes: false } }],
    },
  },
  {
    basePath: frontend,
    files: ['src/**/*.{ts,tsx}'],
    extends: [reactHooks.configs.flat['recommended-latest']],
    languageOptions: { globals: globals.browser },
    rules: {
      // A missing dependency is a stale-closure bug, not a style point.
      'react-hooks/exhaustive-deps': 'error',
    },
  },
  {
    basePath: frontend,
    files: ['e2e/**/*.ts', 'playwright.config.ts', 'vite.config.ts'],
    languageOptions: { globals: globals.node },
  },
);
