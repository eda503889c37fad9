// Preloaded (node -r) into kinesalite and kinesis-local by bench/run so that
// they listen on 127.0.0.1 only: kinesalite's CLI has no host flag and
// kinesis-local hard-codes 0.0.0.0. Every listen() on a TCP port without a
// host, or on a wildcard host, is moved to 127.0.0.1; nothing else changes.
'use strict';
const net = require('net');
const original = net.Server.prototype.listen;
const WILDCARD = new Set([undefined, null, '', '0.0.0.0', '::']);

net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' || (typeof args[0] === 'string' && /^\d+$/.test(args[0]))) {
    if (typeof args[1] === 'function' || args.length === 1) {
      args.splice(1, 0, '127.0.0.1');
    } else if (WILDCARD.has(args[1])) {
      args[1] = '127.0.0.1';
    }
  } else if (args[0] && typeof args[0] === 'object' && !Array.isArray(args[0]) &&
             args[0].path === undefined && WILDCARD.has(args[0].host)) {
    args[0] = Object.assign({}, args[0], { host: '127.0.0.1' });
  }
  return original.apply(this, args);
};
