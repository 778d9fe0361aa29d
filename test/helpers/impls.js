'use strict';
// Which implementation the tests run against, and how to load either one.
const path = require('node:path');

const UDPKIT_PATH = path.resolve(__dirname, '..', '..', 'dist', 'index.js');
const IMPL_NAME = process.env.UDPKIT_TEST_IMPL === 'node' ? 'node' : 'udpkit';

// The module path/specifier a child process should require for an implementation.
function implSpecifier(name = IMPL_NAME) {
  return name === 'node' ? 'node:dgram' : UDPKIT_PATH;
}

function loadImpl(name = IMPL_NAME) {
  return require(implSpecifier(name));
}

module.exports = { UDPKIT_PATH, IMPL_NAME, implSpecifier, loadImpl };
