export type {MessageSource, SourceItem} from './message-source.js'
