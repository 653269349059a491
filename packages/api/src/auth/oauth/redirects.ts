// Where a flow may send the browser back: checked at /start, before anything is redirected anywhere, so the
// callback never redirects to a target it did not vet (no open redirect).

/**
 * An app's redirect_uri for the code flow: a loopback `http://127.0.0.1:<port>/…` or `http://[::1]:<port>/…`
 * (RFC 8252 §7.3: any port; never `localhost`, which a hosts file or DNS may send elsewhere), a custom scheme
 * the server lists (OAUTH_DESKTOP_SCHEMES), or a page of an origin in CORS_ORIGINS (a cross-site web app).
 */
export function appRedirectAllowed(
  redirectUri: string,
  allowed: { corsOrigins: readonly string[]; desktopSchemes: readonly string[] },
): boolean {
  if (redirectUri.length > 2_000 || !URL.canParse(redirectUri)) return false;
  const url = new URL(redirectUri);
  if (url.username || url.password || url.hash || redirectUri.includes("#")) return false;
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  if (scheme === "http" && (url.hostname === "127.0.0.1" || url.hostname === "[::1]")) return true;
  if (allowed.desktopSchemes.includes(scheme)) return true;
  if (scheme === "http" || scheme === "https") return allowed.corsOrigins.includes(url.origin);
  return false;
}

/** A same-site app's return_to: a path of APP_URL ("/…", not "//host" or "/\host", which browsers read as a host). */
export function returnPathAllowed(returnTo: string): boolean {
  return (
    returnTo.length <= 2_000 &&
    /^\/(?![/\\])/.test(returnTo) &&
    // eslint-disable-next-line no-control-regex
    !/[\u0000-\u001f\u007f\\]/.test(returnTo)
  );
}
