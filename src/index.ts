// p2p-elements: importing this module registers every element.
export * from './core/index.js'
export * from './context/index.js'
export * from './events/index.js'
export * from './elements/index.js'
