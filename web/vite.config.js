// Vite builds the dashboard into dist/ (served by `yagura tower --web DIR`).
// In development (`npm run dev`) it proxies the API to a tower:
//   YAGURA_TOWER=http://127.0.0.1:8080 npm run dev
import { defineConfig } from 'vite';

const tower = process.env.YAGURA_TOWER || 'http://127.0.0.1:8080';

export default defineConfig({
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 400 },
  server: {
    proxy: Object.fromEntries(['/api', '/taxii2', '/log', '/healthz'].map(p => [p, { target: tower }])),
  },
});
