export {swarmContext} from './swarm-context.js'
export {sourceContext} from './source-context.js'
