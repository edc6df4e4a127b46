// Lint rules for the project's TypeScript: typescript-eslint's recommended
// set, tuned where the code deliberately does otherwise (each exception says why).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // A leading underscore marks a parameter or binding kept for its position or shape (an interface's argument, a destructured field left out).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      // CommonJS output: commands and heavy modules (chdb, grpc, piscina) are require()d where they are needed, so `--help`, `status` and `translate` start without loading them.
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    files: ['src/gateway/**/*.ts'],
    rules: {
      // The resource parsers read a document only after its field schema accepted it, which is what guarantees the shapes they then use.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    // The capture browser's page: plain ES modules in the browser, bundled by ui/build.mjs (which runs on Node).
    files: ['ui/src/**/*.js'],
    languageOptions: { globals: globals.browser },
  },
  {
    files: ['ui/*.mjs'],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Tests read recorded JSON, YAML and protocol fixtures whose shape is the thing under test.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
);
