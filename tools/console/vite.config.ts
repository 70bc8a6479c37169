import { defineConfig } from 'vite';

/**
 * The console is served by the gateway at /console/ (services/gateway/src/entry-points/web): every
 * asset is fetched from there, never from a CDN. Preact's JSX through Vite's own transform.
 */
export default defineConfig({
  base: '/console/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  resolve: { alias: { react: 'preact/compat', 'react-dom': 'preact/compat' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    // One script and one stylesheet; no source maps shipped.
    sourcemap: false,
    target: 'es2022',
  },
  clearScreen: false,
});
