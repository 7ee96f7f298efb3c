// Gatehouse browser SDK (docs/browser-sdk.md). A hand-written ES module without dependencies
// or build step: the file the server embeds is the file in the repository.
//
// The access token lives only in this module's memory; the refresh token lives in an
// HttpOnly cookie that scripts cannot read. Tabs of one origin share one access token: a
// single tab refreshes (under a Web Lock) and broadcasts the result, so a refresh token is
// rotated once per access-token lifetime however many tabs are open.

/** @typedef {{id: string, email: string, email_verified: boolean, disabled: boolean, has_password: boolean, created_at: string, updated_at: string}} User */
/** @typedef {{id: string, created_at: string, last_seen_at: string, expires_at: string, idle_expires_at: string, auth_time: string, amr: string[], ip: string, user_agent: string, current?: boolean}} SessionInfo */
/** @typedef {{user: User, session: SessionInfo}} Session */
/** @typedef {{issuer: string, clientId?: string, refreshMargin?: number, channel?: string}} ClientOptions */

/** An error answer of the server, or a network failure (code "network_error"). */
export class GatehouseError extends Error {
  /**
   * @param {string} code the server's stable `error` code
   * @param {number} status the HTTP status (0 for a network failure)
   * @param {string} [description] the server's `error_description`
   * @param {Record<string, any>} [body] the whole error body (e.g. mfa_token and methods)
   */
  constructor(code, status, description = '', body = {}) {
    super(description || code)
    this.name = 'GatehouseError'
    this.code = code
    this.status = status
    this.description = description
    this.body = body
  }
}

const b64u = {
  /** @param {string} s */
  dec(s) {
    const b = atob(s.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, ''))
    const a = new Uint8Array(b.length)
    for (let i = 0; i < b.length; i++) a[i] = b.charCodeAt(i)
    return a.buffer
  },
  /** @param {ArrayBuffer} buf */
  enc(buf) {
    let s = ''
    for (const c of new Uint8Array(buf)) s += String.fromCharCode(c)
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
  },
}

/** @param {any} pk */
function publicKeyIn(pk) {
  pk.challenge = b64u.dec(pk.challenge)
  if (pk.user) pk.user.id = b64u.dec(pk.user.id)
  for (const c of [...(pk.excludeCredentials || []), ...(pk.allowCredentials || [])]) c.id = b64u.dec(c.id)
  return pk
}

/** @param {any} cred a PublicKeyCredential */
function credentialOut(cred) {
  const r = cred.response, out = /** @type {any} */ ({})
  for (const k of ['clientDataJSON', 'attestationObject', 'authenticatorData', 'signature', 'userHandle']) {
    if (r[k]) out[k] = b64u.enc(r[k])
  }
  if (r.getTransports) out.transports = r.getTransports()
  return {
    id: cred.id, rawId: b64u.enc(cred.rawId), type: cred.type, response: out,
    authenticatorAttachment: cred.authenticatorAttachment || undefined,
    clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
  }
}

/**
 * Creates a client of the Gatehouse at `issuer`.
 * @param {ClientOptions} options
 */
export function createClient({ issuer, clientId = 'gatehouse', refreshMargin = 30, channel = 'gatehouse' }) {
  const base = issuer.replace(/\/+$/, '')
  /** @type {string | null} */ let token = null
  let expiresAt = 0 // ms
  /** @type {Session | null} */ let current = null
  /** @type {Set<(s: Session | null) => void>} */ const listeners = new Set()
  /** @type {Set<() => void>} */ const waiters = new Set()
  /** @type {Promise<string | null> | null} */ let inflight = null
  // Without Web Locks, tabs elect the refresher over the channel: a due tab claims the
  // refresh, and of claims made within 100 ms the lowest id wins; the others wait for its token.
  const me = Math.random()
  let claimAt = 0, lost = false
  const bc = typeof BroadcastChannel === 'function' ? new BroadcastChannel(channel) : null
  const locks = typeof navigator !== 'undefined' && navigator.locks
  const fresh = () => !!token && Date.now() < expiresAt - refreshMargin * 1000

  /** @param {Session | null} s */
  function setSession(s) {
    const changed = (current && current.session.id) !== (s && s.session.id)
    current = s
    if (changed) for (const cb of listeners) cb(s)
  }

  /** @param {any} m */
  const post = (m) => bc && bc.postMessage(m)

  /** @param {string} at @param {number} exp @param {Session | null} s */
  function adopt(at, exp, s) {
    token = at
    expiresAt = exp
    for (const w of waiters) w()
    if (s) setSession(s)
  }

  function clear() {
    token = null
    expiresAt = 0
    setSession(null)
  }

  if (bc) {
    bc.onmessage = ({ data: m }) => {
      if (m.t === 'claim') {
        claimAt = Date.now()
        if (m.id < me) lost = true
      } else if (m.t === 'token' && m.exp >= expiresAt) adopt(m.at, m.exp, m.s)
      else if (m.t === 'out') clear()
      else if (m.t === 'ask' && fresh()) post({ t: 'token', at: token, exp: expiresAt, s: current })
    }
  }

  /**
   * One request to the server; JSON in and out; credentials (the refresh cookie) included.
   * @param {string} path @param {RequestInit & {json?: any}} [init]
   */
  async function call(path, init = {}) {
    const headers = new Headers(init.headers)
    if (init.json !== undefined) {
      headers.set('Content-Type', 'application/json')
      init.body = JSON.stringify(init.json)
    }
    let res
    try {
      res = await globalThis.fetch(base + path, { method: 'POST', ...init, headers, credentials: 'include' })
    } catch (e) {
      throw new GatehouseError('network_error', 0, String(e))
    }
    const body = res.status === 204 ? {} : await res.json().catch(() => ({}))
    if (!res.ok) throw new GatehouseError(body.error || 'server_error', res.status, body.error_description, body)
    return body
  }

  /** Takes a token answer (delivery "token" with the refresh cookie) and tells the other tabs. */
  async function signedIn(/** @type {any} */ tr) {
    adopt(tr.access_token, Date.now() + tr.expires_in * 1000, null)
    const s = await call('/v1/session', { method: 'GET', headers: { Authorization: 'Bearer ' + token } })
    setSession(s)
    post({ t: 'token', at: token, exp: expiresAt, s })
    return s
  }

  /** Waits up to ms for another tab's token; true if one came. */
  function awaitPeer(ms) {
    return new Promise((done) => {
      const w = () => { clearTimeout(timer); waiters.delete(w); done(true) }
      const timer = setTimeout(() => { waiters.delete(w); done(false) }, ms)
      waiters.add(w)
      post({ t: 'ask' })
    })
  }

  /** Rotates the refresh cookie (this tab only) and shares the new access token. */
  async function rotate() {
    try {
      const tr = await call('/oauth/token', {
        body: new URLSearchParams({ grant_type: 'refresh_token', client_id: clientId }),
      })
      adopt(tr.access_token, Date.now() + tr.expires_in * 1000, null)
      post({ t: 'token', at: token, exp: expiresAt, s: current })
      return token
    } catch (e) {
      // 400 invalid_grant (or no cookie): the session is over. Anything else (rate limits,
      // outages) is thrown and the session kept.
      if (e instanceof GatehouseError && (e.status === 400 || e.status === 401)) {
        clear()
        return null
      }
      throw e
    }
  }

  /** Under the lock: another tab may have refreshed while we waited; ask it before rotating. */
  async function refreshLocked(/** @type {boolean} */ contended) {
    if (fresh()) return token
    if ((contended || !token) && bc && (await awaitPeer(contended ? 500 : 100)) && fresh()) return token
    return rotate()
  }

  /** Without Web Locks: the BroadcastChannel election. */
  async function refreshElected() {
    if (!bc) return rotate()
    if (Date.now() - claimAt < 2000 && (await awaitPeer(2000)) && fresh()) return token
    lost = false
    post({ t: 'claim', id: me })
    await new Promise((r) => setTimeout(r, 100))
    if ((lost || !token) && (await awaitPeer(lost ? 2000 : 100)) && fresh()) return token
    return rotate()
  }

  /** A valid access token (refreshing it through the cookie when due), or null if signed out. */
  function accessToken() {
    if (fresh()) return Promise.resolve(token)
    if (inflight) return inflight
    inflight = (async () => {
      if (!locks) return refreshElected()
      /** @type {string | null | undefined} */
      let got
      const held = await locks.request('gatehouse-refresh', { ifAvailable: true }, async (l) => {
        if (l) got = await refreshLocked(false)
        return !!l
      })
      return held ? got ?? null : locks.request('gatehouse-refresh', () => refreshLocked(true))
    })().finally(() => { inflight = null })
    return inflight
  }

  const client = {
    /** @param {{email: string, password: string}} c */
    async signIn({ email, password }) {
      return signedIn(await call('/v1/login', { json: { email, password, delivery: 'token', refresh_cookie: true } }))
    },
    /** @param {{email: string, password: string}} c */
    async signUp({ email, password }) {
      return signedIn(await call('/v1/signup', { json: { email, password, delivery: 'token', refresh_cookie: true } }))
    },
    /** @param {'local' | 'others' | 'global'} [scope] */
    async signOut(scope = 'local') {
      const at = await accessToken().catch(() => token)
      await call('/v1/logout', { json: { scope }, headers: at ? { Authorization: 'Bearer ' + at } : {} })
      if (scope !== 'others') {
        clear()
        post({ t: 'out' })
      }
    },
    /** The current session and user, or null when signed out. */
    async session() {
      const res = await client.fetch(base + '/v1/session')
      if (res.status === 401) {
        if (!token) setSession(null)
        return null
      }
      const s = await res.json()
      if (!res.ok) throw new GatehouseError(s.error || 'server_error', res.status, s.error_description, s)
      setSession(s)
      return s
    },
    /**
     * fetch with "Authorization: Bearer <access token>", refreshed before it expires; a 401
     * is retried once with a new token.
     * @param {RequestInfo | URL} input @param {RequestInit} [init]
     */
    async fetch(input, init = {}) {
      const send = (/** @type {string | null} */ at) => {
        const headers = new Headers(init.headers)
        if (at) headers.set('Authorization', 'Bearer ' + at)
        return globalThis.fetch(input, { ...init, headers })
      }
      const at = await accessToken()
      const res = await send(at)
      if (res.status !== 401 || !at) return res
      if (token === at) expiresAt = 0
      const again = await accessToken()
      return again ? send(again) : res
    },
    /**
     * Calls cb with the session on sign-in (in any tab) and with null on sign-out.
     * @param {(s: Session | null) => void} cb @returns {() => void} unsubscribe
     */
    onChange(cb) {
      listeners.add(cb)
      return () => listeners.delete(cb)
    },
    /** Exchanges a legacy issuer's token for a Gatehouse session. @param {string} legacyToken */
    async exchange(legacyToken) {
      return signedIn(await call('/v1/exchange', { json: { subject_token: legacyToken, delivery: 'token', refresh_cookie: true } }))
    },
    /** Registers a passkey for the signed-in user. @param {string} [name] */
    async registerPasskey(name) {
      const auth = { Authorization: 'Bearer ' + (await accessToken()) }
      const opts = await call('/v1/passkeys/register/begin', { json: {}, headers: auth })
      const cred = await navigator.credentials.create({ publicKey: publicKeyIn(opts.publicKey) })
      return call('/v1/passkeys/register/finish', { json: { ...credentialOut(cred), name }, headers: auth })
    },
    /** Signs in with a discoverable passkey (no e-mail address, no password). */
    async signInWithPasskey() {
      const opts = await call('/v1/login/passkey/begin', { json: {} })
      const cred = await navigator.credentials.get({ publicKey: publicKeyIn(opts.publicKey), mediation: opts.mediation })
      return signedIn(await call('/v1/login/passkey/finish', { json: { credential: credentialOut(cred), delivery: 'token', refresh_cookie: true } }))
    },
  }
  return client
}
