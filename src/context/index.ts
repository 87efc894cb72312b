export {swarmContext} from './swarm-context.js'
export {sourceContext} from './source-context.js'
export {logContext} from './log-context.js'
export {kvContext} from './kv-context.js'
