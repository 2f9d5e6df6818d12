// Lint: the recommended JS and TypeScript rules over everything we write, the Svelte components' scripts
// too, and the layer rules (docs/architecture.md): which folder may import which.
import js from '@eslint/js';
import svelte from 'eslint-plugin-svelte';
import tseslint from 'typescript-eslint';

// ---- The layers. Import paths are matched as written (relative, with the .ts extension), so each
// pattern names the folder as it appears in a path: `…/native/…`, `…/catalogue/…`.

/** Node and Electron are not there in the renderer: it reaches the back end only through the API. */
const RENDERER_NO_NODE = [
  { regex: '^(node:|electron$|electron/)', message: 'The renderer runs in a browser page: no Node or Electron; ask the back end through the API (native/api/contract.ts).' },
];

/**
 * What the renderer may import from native/ (anything else there runs only in Node):
 * - api/contract.ts: the contract, types and the lists (methods, modes, backends, run statuses);
 * - http/client.ts: the API over HTTP, browser mode's transport (fetch and TextDecoder only);
 * - raster/geo/crs.ts: the bundled proj4 definitions, so the map projects scenes exactly as the back end does
 *   (pure data and proj4, no file access);
 * - report/loss-plot.ts: the loss curves' plot geometry (pure arithmetic), so the app draws what the report does.
 */
const RENDERER_NATIVE = [
  {
    regex: '(^|/)native/(?!(api/contract|http/client|raster/geo/crs|report/loss-plot)\\.ts$)',
    message: 'The renderer imports from native/ only the contract (api/contract.ts), http/client.ts, raster/geo/crs.ts and report/loss-plot.ts (docs/architecture.md).',
  },
];

/** The back end runs in Node (the CLI, the server, workers) and does not know the shell it may run under. */
const NATIVE_NO_ELECTRON = [
  { regex: '^electron($|/)', message: 'native/ runs without Electron (CLI, server, workers): no Electron imports.' },
  { regex: '(^|/)electron/', message: 'native/ does not import the Electron shell (electron/); the shell imports native/.' },
  { regex: '(^|/)renderer/', message: 'native/ does not import the renderer.' },
];

/** The engine computes images from arrays; it knows nothing of projects, runs or transports. */
const ENGINE_ALONE = [
  {
    regex: '(^|/)(catalogue|project|jobs|http|reconstruction|report|commands|cli)/|(^|/)cli\\.ts$',
    message: 'The DIP engine (native/dip/) does not import the catalogue, the project, jobs, HTTP, reconstructions, reports, commands or the CLI (docs/architecture.md).',
  },
];

/** GeoTIFF in and out is below the Sentinel knowledge: sentinel/ reads and writes through tiff/, never back. */
const TIFF_NO_SENTINEL = [
  {
    regex: '(^|/)sentinel/',
    message: 'native/raster/tiff/ (GeoTIFF in and out) does not import raster/sentinel/: sentinel/ builds on tiff/ (docs/architecture.md).',
  },
];

/** The shell loads the renderer's built page; it does not import its code. */
const ELECTRON_NO_RENDERER = [
  { regex: '(^|/)renderer/', message: 'electron/ does not import the renderer: it loads the built page (docs/architecture.md).' },
];

/**
 * The catalogue is the workspace host's (native/project/host.ts): the main process needs only the project
 * folder's names, so it does not load better-sqlite3 (electron-packaging.test.ts checks the bundle).
 */
const ELECTRON_NO_CATALOGUE = [
  {
    regex: '(^|/)native/catalogue/(?!layout\\.ts$)',
    message: 'electron/ imports from native/catalogue/ only layout.ts (the folder\'s names): the catalogue and SQLite are the workspace host\'s (docs/architecture.md).',
  },
];

/** Static imports and re-exports (`no-restricted-imports`), and `import('…')` with a literal path (`no-restricted-syntax`). */
const restrict = (...groups) => ({
  'no-restricted-imports': ['error', { patterns: groups.flat() }],
  'no-restricted-syntax': [
    'error',
    ...groups.flat().map(({ regex, message }) => ({ selector: `ImportExpression > Literal.source[value=/${regex.replaceAll('/', '\\/')}/]`, message })),
  ],
});

/** DOM globals: a browser page's, absent in Node (the back end runs in Node only). */
const DOM_GLOBALS = ['window', 'document', 'navigator', 'location', 'localStorage', 'sessionStorage', 'HTMLElement', 'HTMLCanvasElement', 'requestAnimationFrame', 'alert', 'XMLHttpRequest'].map((name) => ({
  name,
  message: `native/ runs in Node: no DOM (${name}).`,
}));

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'out/', 'native/addon/build/', 'native/dip/generated/', 'renderer/dist/', '.tmp/', '**/*.tmp.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs['flat/recommended'],
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Svelte components and rune modules: their scripts are TypeScript; undefined names are svelte-check's job.
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] } },
    rules: {
      'no-undef': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // The plain Maps in components are bookkeeping (layers by key, caches), deliberately not reactive: what
      // the markup shows lives in $state beside them.
      'svelte/prefer-svelte-reactivity': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  // ---- Layer rules. In flat config a later block's options replace an earlier one's for the same files,
  // so each block lists every group that applies to its folder.
  {
    files: ['renderer/src/**/*.ts', 'renderer/src/**/*.svelte'],
    rules: restrict(RENDERER_NO_NODE, RENDERER_NATIVE),
  },
  {
    files: ['native/**/*.ts'],
    rules: { ...restrict(NATIVE_NO_ELECTRON), 'no-restricted-globals': ['error', ...DOM_GLOBALS] },
  },
  {
    files: ['native/dip/**/*.ts'],
    rules: restrict(NATIVE_NO_ELECTRON, ENGINE_ALONE),
  },
  {
    files: ['native/raster/tiff/**/*.ts'],
    rules: restrict(NATIVE_NO_ELECTRON, TIFF_NO_SENTINEL),
  },
  {
    files: ['electron/**/*.ts'],
    rules: restrict(ELECTRON_NO_RENDERER, ELECTRON_NO_CATALOGUE),
  },
);
