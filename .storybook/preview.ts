import {setCustomElementsManifest, type Preview} from '@storybook/web-components-vite'
import manifest from '../custom-elements.json' with {type: 'json'}

// Attribute and property docs for the controls come from the analyzer's manifest.
setCustomElementsManifest(manifest)

const preview: Preview = {
  parameters: {
    controls: {expanded: true},
  },
}

export default preview
