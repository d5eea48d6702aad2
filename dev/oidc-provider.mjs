#!/usr/bin/env node
// DEVELOPMENT / TEST ONLY OpenID Connect provider for Meet Web.
//
//   node dev/oidc-provider.mjs [--port 9000] [--client-id meet] [--client-secret <secret>]
//
// Environment fallbacks: OIDC_DEV_PORT, OIDC_DEV_CLIENT_ID, OIDC_DEV_CLIENT_SECRET.
//
// * Issuer http://127.0.0.1:<port>, listens on 127.0.0.1 only, in-memory storage.
// * The login form (oidc-provider's devInteractions) accepts ANY login and ANY
//   password.  The login becomes the subject:
//     sub            = login
//     email          = login if it contains "@", else "<login>@example.org"
//     email_verified = true, except for a login starting with "unverified"
//     name           = "<Capitalised local part> Example" (given_name / family_name)
//     groups         = ["operators"] if login starts with "operator", else []
//   A login starting with "shifting-sub" gets another subject from the userinfo
//   endpoint ("<login>-elsewhere") than in its ID token: a provider a relying party
//   must not trust (OIDC Core 5.3.2).
// * One confidential client (client_secret_basic or client_secret_post),
//   authorization_code + refresh_token, response_type code, PKCE S256 required.
//   Nominal redirect URI http://localhost/api/v1.0/callback/, but ANY redirect
//   URI / post-logout redirect URI on http://localhost[:port] or
//   http://127.0.0.1[:port] is accepted (the relying party runs on random
//   loopback ports in tests).
// * A second confidential client, `integration` (secret
//   dev-integration-secret-not-for-production), stands for another application whose
//   users' access tokens (scopes lasuite_meet, rooms:*) call the external API; the
//   introspection endpoint answers about them to the first client.
// * Consent is granted automatically (no consent screen).
// * RP-initiated logout (end_session_endpoint): instead of the stock
//   "Do you want to sign-out?" page the provider answers with a tiny page whose
//   form (already containing logout=yes) submits itself with JavaScript.  A
//   browser therefore ends up on post_logout_redirect_uri without any click;
//   an HTTP client without JavaScript must POST that form (tests/servers/oidc.py
//   complete_logout() does so).
//
// NEVER expose this to anything but loopback.

import * as crypto from 'node:crypto';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    'jwt-client-jwks': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});

if (args.help) {
  console.log('usage: node dev/oidc-provider.mjs [--port 9000] [--client-id meet] [--client-secret SECRET]');
  process.exit(0);
}

const PORT = Number.parseInt(args.port ?? process.env.OIDC_DEV_PORT ?? '9000', 10);
const CLIENT_ID = args['client-id'] ?? process.env.OIDC_DEV_CLIENT_ID ?? 'meet';
const CLIENT_SECRET = args['client-secret'] ?? process.env.OIDC_DEV_CLIENT_SECRET
  ?? 'dev-oidc-client-secret-not-for-production';
// A public key set: a third client, `<client-id>-jwt` (the same secret), whose token
// introspection answers are signed (ES256) JWTs encrypted to that key (RSA-OAEP,
// A256GCM), as ProConnect answers (RFC 9701). A fourth, `<client-id>-jwt-other`, is
// another service with the same key set: its answers are not for the third.
const JWT_CLIENT_JWKS = args['jwt-client-jwks'] ?? process.env.OIDC_DEV_JWT_CLIENT_JWKS;
const HOST = '127.0.0.1';
const ISSUER = `http://${HOST}:${PORT}`;
const NOMINAL_REDIRECT_URI = 'http://localhost/api/v1.0/callback/';
const NOMINAL_POST_LOGOUT_REDIRECT_URI = 'http://localhost/';
const INTEGRATION_CLIENT_ID = 'integration';
const INTEGRATION_CLIENT_SECRET = 'dev-integration-secret-not-for-production';

if (!Number.isInteger(PORT) || PORT <= 0 || PORT > 65535) {
  console.error(`invalid port: ${args.port ?? process.env.OIDC_DEV_PORT}`);
  process.exit(2);
}

// ---------------------------------------------------------------- accounts

function capitalise(word) {
  return word ? word.charAt(0).toUpperCase() + word.slice(1) : word;
}

function claimsFor(login) {
  const email = login.includes('@') ? login : `${login}@example.org`;
  const local = email.split('@')[0];
  const givenName = capitalise(local) || 'User';
  const familyName = 'Example';
  return {
    sub: login,
    email,
    email_verified: !login.startsWith('unverified'),
    name: `${givenName} ${familyName}`,
    given_name: givenName,
    family_name: familyName,
    groups: login.startsWith('operator') ? ['operators'] : [],
  };
}

async function findAccount(ctx, sub) {
  // oidc-provider always answers the account's id as `sub`: a shifting subject has to
  // be another account id, on the userinfo endpoint only.
  const shifted = ctx?.oidc?.route === 'userinfo' && sub.startsWith('shifting-sub');
  return {
    accountId: shifted ? `${sub}-elsewhere` : sub,
    async claims() {
      return claimsFor(sub);
    },
  };
}

// ------------------------------------------------------- auto consent grant

async function loadExistingGrant(ctx) {
  const { oidc } = ctx;
  const grantId = oidc.result?.consent?.grantId || oidc.session.grantIdFor(oidc.client.clientId);
  let grant;
  if (grantId) {
    grant = await oidc.provider.Grant.find(grantId);
  }
  if (!grant) {
    grant = new oidc.provider.Grant({
      clientId: oidc.client.clientId,
      accountId: oidc.session.accountId,
    });
  }
  // First-party development client: grant everything that was asked for.
  const scopes = [...oidc.requestParamOIDCScopes];
  if (scopes.length) {
    grant.addOIDCScope(scopes.join(' '));
  }
  const claims = [...oidc.requestParamClaims];
  if (claims.length) {
    grant.addOIDCClaims(claims);
  }
  await grant.save();
  return grant;
}

// ------------------------------------------------------------ HTML helpers

function htmlEscape(value) {
  return String(value)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

async function logoutSource(ctx, form) {
  // `form` is '<form id="op.logoutForm" method="post" action="..."><input xsrf/></form>'.
  // Add logout=yes and submit it right away: no confirmation click needed.
  const autoForm = form.replace(
    '</form>',
    '<input type="hidden" name="logout" value="yes"/>'
      + '<noscript><button type="submit">Sign out</button></noscript></form>',
  );
  ctx.type = 'html';
  ctx.body = `<!DOCTYPE html>
<html>
<head>
  <meta charset="utf-8">
  <title>Signing out</title>
  <script>document.addEventListener('DOMContentLoaded', function () { document.forms[0].submit(); });</script>
</head>
<body>
  <p>Signing out (development identity provider)&hellip;</p>
  ${autoForm}
</body>
</html>`;
}

async function renderError(ctx, out) {
  ctx.type = 'html';
  ctx.body = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>oidc-provider error</title></head>
<body><h1>oidc-provider error</h1><pre>${htmlEscape(JSON.stringify(out, null, 2))}</pre></body></html>`;
}

// ------------------------------------------------------------------ keys

function devSigningKey() {
  // Generated per process: tokens do not survive a restart, which is fine for dev.
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: 'dev-rs256', use: 'sig', alg: 'RS256' };
}

function devEcSigningKey() {
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { ...privateKey.export({ format: 'jwk' }), kid: 'dev-es256', use: 'sig', alg: 'ES256' };
}

function jwtIntrospectionClients() {
  if (!JWT_CLIENT_JWKS) {
    return [];
  }
  return ['', '-other'].map((suffix) => ({
    client_id: `${CLIENT_ID}-jwt${suffix}`,
    client_secret: CLIENT_SECRET,
    client_name: `Meet Web, introspecting with JWT answers (development${suffix})`,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: [],
    response_types: [],
    redirect_uris: [],
    introspection_signed_response_alg: 'ES256',
    introspection_encrypted_response_alg: 'RSA-OAEP',
    introspection_encrypted_response_enc: 'A256GCM',
    jwks: JSON.parse(JWT_CLIENT_JWKS),
  }));
}

// --------------------------------------------------------------- provider

const configuration = {
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    client_name: 'Meet Web (development)',
    application_type: 'web',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: [NOMINAL_REDIRECT_URI],
    post_logout_redirect_uris: [NOMINAL_POST_LOGOUT_REDIRECT_URI],
  }, {
    // Another application of the same provider (a calendar, say) whose users' access
    // tokens call Meet Web's external API, which introspects them as the client above.
    client_id: INTEGRATION_CLIENT_ID,
    client_secret: INTEGRATION_CLIENT_SECRET,
    client_name: 'An integration (development)',
    application_type: 'web',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: ['http://localhost/integration/callback'],
  }, ...jwtIntrospectionClients()],
  findAccount,
  loadExistingGrant,
  renderError,
  pkce: { required: () => true },
  // lasuite_meet and rooms:*: the external API's, for the integration's tokens.
  scopes: [
    'openid', 'offline_access', 'email', 'profile', 'groups', 'lasuite_meet',
    'rooms:list', 'rooms:retrieve', 'rooms:create', 'rooms:update', 'rooms:delete',
  ],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name'],
    groups: ['groups'],
  },
  // Also put the scope claims into the ID token (userinfo has them anyway).
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true, logoutSource },
    userinfo: { enabled: true },
    revocation: { enabled: true },
    introspection: { enabled: true },
    jwtIntrospection: { enabled: true },
    encryption: { enabled: true },
  },
  jwks: { keys: [devSigningKey(), devEcSigningKey()] },
  cookies: {
    keys: ['dev-oidc-cookie-key-not-for-production-1', 'dev-oidc-cookie-key-not-for-production-2'],
  },
  ttl: {
    AccessToken: 10 * 60,
    AuthorizationCode: 60,
    IdToken: 10 * 60,
    Interaction: 10 * 60,
    Grant: 60 * 60,
    Session: 60 * 60,
    RefreshToken: 60 * 60,
  },
};

const provider = new Provider(ISSUER, configuration);

// Accept any redirect URI on a loopback http origin, whatever the port.
function isLoopbackHttpUri(value) {
  if (typeof value !== 'string') {
    return false;
  }
  let url;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return url.protocol === 'http:'
    && (url.hostname === 'localhost' || url.hostname === '127.0.0.1')
    && url.username === ''
    && url.password === ''
    && url.hash === ''
    && !value.includes('#');
}

const originalRedirectUriAllowed = provider.Client.prototype.redirectUriAllowed;
const originalPostLogoutRedirectUriAllowed = provider.Client.prototype.postLogoutRedirectUriAllowed;
provider.Client.prototype.redirectUriAllowed = function redirectUriAllowed(value) {
  return isLoopbackHttpUri(value) || originalRedirectUriAllowed.call(this, value);
};
provider.Client.prototype.postLogoutRedirectUriAllowed = function postLogoutRedirectUriAllowed(value) {
  return isLoopbackHttpUri(value) || originalPostLogoutRedirectUriAllowed.call(this, value);
};

provider.on('server_error', (ctx, err) => {
  console.error('oidc-provider server_error:', err);
});

// ----------------------------------------------------------------- start

const bar = '!'.repeat(78);
console.log([
  bar,
  '!!  DEVELOPMENT-ONLY IDENTITY PROVIDER -- ACCEPTS ANY LOGIN AND ANY PASSWORD',
  '!!  Never expose it beyond loopback; never use it in production.',
  `!!  issuer:        ${ISSUER}`,
  `!!  client id:     ${CLIENT_ID}`,
  '!!  client secret: (as configured)',
  `!!  redirect URIs: ${NOMINAL_REDIRECT_URI} and any http://localhost[:port] / http://127.0.0.1[:port] URI`,
  bar,
].join('\n'));

const server = provider.listen(PORT, HOST, () => {
  console.log(`oidc-provider listening on ${ISSUER}`);
});

server.on('error', (err) => {
  console.error(`oidc-provider failed to listen on ${HOST}:${PORT}: ${err.message}`);
  process.exit(1);
});

let stopping = false;
function shutdown(signal) {
  if (stopping) {
    return;
  }
  stopping = true;
  console.log(`oidc-provider: ${signal} received, shutting down`);
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 2000).unref();
}

process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
