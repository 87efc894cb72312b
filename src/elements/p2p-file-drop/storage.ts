// The file drop's storage, imported on demand (see p2p-file-drop.ts). An ES module of our
// own in between, because bundlers differ on what a CommonJS package gives an import():
// esbuild's split build hands over only its module.exports as `default`, Node and the dev
// server name its exports too; a static import names them everywhere.
export {BrowserLevel} from 'browser-level'
