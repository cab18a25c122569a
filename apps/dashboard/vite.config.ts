import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vite'

export default defineConfig({
  plugins: [vue()],
  server: { port: 5173, strictPort: true, host: 'localhost' },
  preview: { port: 4173, strictPort: true },
  build: { target: 'es2022', sourcemap: true },
  // Every page's dependencies are found before the first request: a dependency met only when a
  // lazy page loads would make the dev server re-bundle and reload the page (mid browser test).
  optimizeDeps: {
    entries: ['index.html', 'src/**/*.vue', 'src/**/*.ts'],
    include: ['chart.js', 'vue-chartjs'],
  },
})
