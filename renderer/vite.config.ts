// The renderer's build: Svelte 5 + OpenLayers into renderer/dist, which `clearsky serve` serves (and, later, the
// Electron shell loads). Relative asset paths so the same build works from http://127.0.0.1:<port>/ and a file or
// custom protocol. No inline scripts (the CSP forbids them): Vite emits module scripts as files.
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  plugins: [svelte()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 2048,
    // Vite would inline small assets as data: URLs; fine for img-src, but keep workers and scripts as files.
    assetsInlineLimit: 0,
  },
});
