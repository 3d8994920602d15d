// Import direction is part of the architecture: renderer → common; main → common; electron → main, common.
// Only electron/ imports `electron`; neither common/ nor renderer/ imports Node.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];
const layer = (forbidden, message) => ({ group: forbidden, message });

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      '.venv*/',
      '.gpu-*/',
      'bench/results/',
      'native-models/fixtures/',
      '.gpu-parts/',
      'e2e/artifacts/',
      'test-results/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        {
          selector:
            'CallExpression[callee.object.name=/^(it|test|describe)$/][callee.property.name=/^(only|skip)$/]',
          message: 'No .only / .skip in committed tests.',
        },
      ],
    },
  },
  {
    files: ['common/**/*.ts'],
    ignores: ['common/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins,
            'electron',
            'react',
            'konva',
            'sharp',
            'onnxruntime-node',
            'better-sqlite3',
          ].map((name) => ({
            name,
            message: 'common/ is pure TypeScript: it runs in Node, Electron and the browser.',
          })),
          patterns: [
            layer(['**/main/**', '**/renderer/**', '**/electron/**'], 'common/ imports nothing but common/.'),
          ],
        },
      ],
    },
  },
  {
    files: ['renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...nodeBuiltins, 'electron', 'sharp', 'onnxruntime-node', 'better-sqlite3', 'ws'].map(
            (name) => ({
              name,
              message:
                'The renderer is sandboxed: no Node, no Electron; talk to main through common/contracts.',
            }),
          ),
          patterns: [layer(['**/main/**', '**/electron/**'], 'renderer/ may import only common/.')],
        },
      ],
    },
  },
  {
    files: ['main/**/*.ts', 'bench/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'electron', message: 'Only electron/ imports electron; main/ must run in plain Node.' },
          ],
          patterns: [layer(['**/renderer/**', '**/electron/**'], 'main/ may import only common/.')],
        },
      ],
    },
  },
  {
    files: ['electron/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [layer(['**/renderer/**'], 'electron/ may import main/ and common/.')] },
      ],
    },
  },
);
