// The esbuild options that turn src/index.ts into one browser file, shared by the
// script-tag bundle (`npm run build`) and the demo server (`npm start`), so the demo
// runs exactly what a page that loads dist/p2p-elements.min.js gets.
import type {BuildOptions} from 'esbuild'
import {fileURLToPath} from 'node:url'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const ENTRY = fileURLToPath(new URL('../src/index.ts', import.meta.url))

export function kitBuildOptions(): BuildOptions {
  return {
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    // The tsconfig carries experimentalDecorators and useDefineForClassFields: false;
    // without it Lit's decorators come out as a SyntaxError.
    tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)),
    logLevel: 'warning',
  }
}
