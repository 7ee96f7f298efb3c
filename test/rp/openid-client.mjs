// Drives the stock openid-client (v6) against a real Gatehouse: discovery, the authorization
// code flow with PKCE, ID token and userinfo checks, then RP-initiated logout. The Go test
// (cmd/gatehouse/openidclient_test.go) starts the server, signs a user in, and passes:
//   ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, LOGOUT_URI, COOKIE ("name=value"), ALG.
// Prints one JSON line with what it saw; exits non-zero on any failure.
import * as client from 'openid-client';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is required`);
  return v;
};
const issuer = new URL(env('ISSUER'));
const cookie = env('COOKIE');
const redirectURI = env('REDIRECT_URI');

const config = await client.discovery(issuer, env('CLIENT_ID'),
  { client_secret: env('CLIENT_SECRET'), id_token_signed_response_alg: env('ALG') },
  client.ClientSecretBasic(env('CLIENT_SECRET')),
  { execute: [client.allowInsecureRequests] }); // the test server is http on 127.0.0.1

const verifier = client.randomPKCECodeVerifier();
const state = client.randomState();
const nonce = client.randomNonce();
const authURL = client.buildAuthorizationUrl(config, {
  redirect_uri: redirectURI, scope: 'openid email', state, nonce,
  code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
});
// The browser: the signed-in session's cookie, no redirects followed.
let res = await fetch(authURL, { headers: { cookie }, redirect: 'manual' });
const callback = res.headers.get('location');
if (res.status !== 302 || !callback?.startsWith(redirectURI)) {
  throw new Error(`authorize answered ${res.status} ${callback}`);
}
const tokens = await client.authorizationCodeGrant(config, new URL(callback),
  { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
const claims = tokens.claims();
const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);

const logoutURL = client.buildEndSessionUrl(config,
  { id_token_hint: tokens.id_token, post_logout_redirect_uri: env('LOGOUT_URI'), state: 'bye' });
res = await fetch(logoutURL, { headers: { cookie }, redirect: 'manual' });
console.log(JSON.stringify({
  sub: claims.sub, sid: claims.sid, email: info.email,
  logout_status: res.status, logout_location: res.headers.get('location'),
}));
