// Typed lint rules, plus the layering rules from STYLE.md: the engine never imports electron,
// the renderer imports nothing but electron/shared.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'out/**',
      'dist/**',
      'node_modules/**',
      'test-results/**',
      'playwright-report/**',
      'bin/**',
      // Scratch folders (git-ignored): not part of the project.
      '.tmp/**',
      '.benchtmp/**',
      // Third-party compose examples kept unchanged as test data (issue 11's corpus).
      'test/fixtures/compose-corpus/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unnecessary-condition': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['electron/engine/**', 'electron/cli/**', 'electron/shared/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'electron',
              message: 'The engine, CLI and shared contract are plain Node: no electron imports.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['renderer/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'electron', message: 'The renderer imports only electron/shared.' }],
          patterns: [
            {
              group: [
                '**/electron/engine/**',
                '**/electron/main/**',
                '**/electron/cli/**',
                '**/electron/server/**',
                '**/electron/preload/**',
                'node:*',
              ],
              message: 'The renderer imports only electron/shared.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    // Merged, not replaced: disableTypeChecked's parserOptions turn the project service off for these
    // files, which no tsconfig includes.
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { process: 'readonly', console: 'readonly' },
    },
  },
);
