// Storage pieces shared by the file store and the signed logs.
export {isQuotaError} from './quota.js'
