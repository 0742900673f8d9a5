// Entry point of a conversion thread. Threads start without the TypeScript loader of the
// main thread (tsx under `npm start`, jest's transform in tests), so tsx's CommonJS hook is
// registered here before the task module loads.
require('tsx/cjs/api').register();
module.exports = require('./convert-page.ts');
