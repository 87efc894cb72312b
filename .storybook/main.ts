import type {StorybookConfig} from '@storybook/web-components-vite'

// No Vite settings are needed: Vite applies tsconfig.json (experimentalDecorators,
// useDefineForClassFields: false) to the files it includes, src/ and stories/, so Lit's
// decorators compile; the CommonJS packages under the file drop's storage (loaded on
// demand) are pre-bundled by Vite.
const config: StorybookConfig = {
  stories: ['../stories/**/*.stories.ts'],
  framework: {name: '@storybook/web-components-vite', options: {}},
  // With telemetry on, a build waits on a network that may not be there.
  core: {disableTelemetry: true},
}

export default config
