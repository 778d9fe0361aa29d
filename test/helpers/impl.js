'use strict';
// The implementation under test, exactly as exported: udpkit's compiled
// dist/index.js by default, node:dgram when UDPKIT_TEST_IMPL=node (the oracle).
module.exports = require('./impls.js').loadImpl();
