import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

// The UI talks to the daemon only through /api and /ws. In development the
// Vite server proxies both to a `flowweaver serve --addr 127.0.0.1:7420`.
const backend = 'http://127.0.0.1:7420';

export default defineConfig({
  plugins: [react()],
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1200 },
  server: {
    proxy: {
      '/api': { target: backend, changeOrigin: false },
      '/ws': { target: backend.replace('http', 'ws'), ws: true },
    },
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx'],
  },
});
