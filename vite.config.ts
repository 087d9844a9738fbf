import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vitest/config';

// The UI lives in ui/ and builds into ui/dist, which tauri.conf.json embeds into the app.
export default defineConfig({
  root: 'ui',
  plugins: [svelte({ configFile: '../svelte.config.js' })],
  clearScreen: false,
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // WebKitGTK 2.40+ (Debian 12), WKWebView and WebView2 all run ES2021.
    target: 'es2021',
  },
  // Tests that mount components need Svelte's browser build, not its server one.
  resolve: process.env.VITEST ? { conditions: ['browser'] } : undefined,
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'jsdom',
  },
});
