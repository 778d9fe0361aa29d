// Where node:dgram behaves differently on the Node lines udpkit runs on (20,
// 22, 24, 26), udpkit follows the running one. Each difference is named here,
// once, with the releases that brought it (some came to 26 and to 24 in the
// same month, and never to 25), so the rest of the code reads as behaviour
// rather than as version checks.
const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];

/** True from each listed release on, within its major line, and on every later major. */
function since(...releases: string[]): boolean {
  let newest = 0;
  for (const release of releases) {
    const [m, n] = release.split('.').map(Number) as [number, number];
    if (m === major && minor >= n) return true;
    newest = Math.max(newest, m);
  }
  return major > newest;
}

/**
 * An IP literal is used as it is, never looked up (unless the socket has a
 * `lookup` option): a dns.lookup replaced later is not called for one, a port
 * that is a string numerically 0 ('0', ' 0 ') is refused where 0 is, and bind()
 * tests its address with net.isIP, which converts any value to a string (a
 * Symbol throws there; a one-element array holding an IP passes).
 */
export const literalsSkipLookup = since('24.19', '26.5');

/** Socket#bindSync() and Socket#connectSync(), which take IP literals only. */
export const syncBindAndConnect = since('24.19', '26.4');

/**
 * bind()'s callback no longer comes with an 'error' listener of its own: a
 * bind that fails takes the callback away before it emits 'error', which is
 * thrown when the user has no listener (earlier, the callback's own listener
 * kept it from being thrown).
 */
export const bindFailureDropsCallback = since('24.21', '26.8');

/** Node 25 removed dgram._createSocketHandle and the deprecated underscore members (DEP0112). */
export const legacyMembersRemoved = major >= 25;
