// Svelte's compiler options for the renderer (read by the Vite plugin and svelte-check).
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

export default { preprocess: vitePreprocess() };
