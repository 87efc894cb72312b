// Views of a log (issue 18): deterministic folds of its entries into rows, rebuilt from the log at will.
export {View, MAX_VIEW_KEY_LENGTH, compareCodePoints, viewSublevel} from './view.js'
export type {ViewDefinition, ViewDiff, ViewEvents, ViewOptions, ViewProgress, ViewRange, ViewReader, ViewRow, ViewStats, ViewSubscription} from './view.js'
