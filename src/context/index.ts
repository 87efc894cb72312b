export {swarmContext} from './swarm-context.js'
