import type {Plugin} from '@web/dev-server-core'

/** Bare specifiers served as pre-built ESM bundles. */
export const PREBUNDLED: string[]
export const TEST_PREBUNDLED: string[]

export function prebundlePlugin(specifiers?: string[]): Plugin

/** TypeScript through esbuild, with the project's decorator settings. */
export function typescriptPlugin(): Plugin

/** Chromium flags for a closed network: nothing leaves the machine. */
export const CHROMIUM_ARGS: string[]

export const CHROMIUM_PATH: string
