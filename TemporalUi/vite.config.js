import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [sveltekit()],
  // The UI's date libraries are CommonJS; pre-bundling them avoids interop surprises.
  optimizeDeps: { include: ['date-fns', 'date-fns-tz'] },
  build: { chunkSizeWarningLimit: 4096 },
});
