// The browser SDK in a real Chromium, from a page on another origin (listed in cors_origins)
// that loads /sdk/gatehouse.js from the issuer under a strict CSP: sign-up and sign-in, where
// the tokens live, typed errors, one refresh for two tabs, and sign-out seen by every tab.
import { launch, newPage, clean, check, equal, env, step, counter, accessible } from './lib.mjs'

const issuer = env('GATEHOUSE_ISSUER')
const app = env('GATEHOUSE_APP_URL')
const ttl = Number(env('GATEHOUSE_ACCESS_TTL')) // seconds
const margin = ttl - 6 // the SDK's refresh margin: a token is due 6 s after it was issued
const metrics = `${issuer}/metrics`
const email = `sdk-${Date.now()}@example.com`
const password = 'correct horse battery staple'

const browser = await launch()
const context = await browser.newContext()
let refreshCalls = 0
context.on('request', (r) => { if (r.url() === `${issuer}/oauth/token`) refreshCalls++ })

async function open() {
  const page = await newPage(context)
  await page.goto(`${app}/?margin=${margin}`)
  await page.waitForFunction(() => window.gh !== undefined, null, { timeout: 10_000 })
  return page
}

const a = await open()
let accessToken = ''
a.on('response', async (r) => {
  if (r.url().startsWith(`${issuer}/v1/`) && r.request().method() === 'POST' && r.ok() && r.status() !== 204) {
    const body = await r.json().catch(() => ({}))
    if (body.access_token) accessToken = body.access_token
  }
})

await step('sign-up through the SDK answers the session', async () => {
  const s = await a.evaluate(([email, password]) => gh.signUp({ email, password }), [email, password])
  equal(s.user.email, email, 'signed-up user')
  check(s.session.id, 'no session id')
})

await step('a wrong password is a GatehouseError with the server code', async () => {
  const e = await a.evaluate(async ([email]) => {
    try {
      await gh.signIn({ email, password: 'not the password at all' })
      return null
    } catch (err) {
      return { typed: err instanceof sdk.GatehouseError, isError: err instanceof Error, code: err.code, status: err.status, description: err.description }
    }
  }, [email])
  check(e, 'sign-in with a wrong password succeeded')
  check(e.typed && e.isError, 'the error is not a GatehouseError')
  equal(e.code, 'invalid_credentials', 'error code')
  equal(e.status, 401, 'error status')
  check(e.description, 'no error description')
})

let sessionID
await step('sign-in through the SDK; session() answers the user', async () => {
  const s = await a.evaluate(([email, password]) => gh.signIn({ email, password }), [email, password])
  sessionID = s.session.id
  const again = await a.evaluate(() => gh.session())
  equal(again.user.email, email, 'session().user.email')
  equal(again.session.id, sessionID, 'session().session.id')
  check(accessToken.split('.').length === 3, 'did not see the access token in the sign-in answer')
})

await step('the refresh token is an HttpOnly cookie; no token is readable by scripts or stored', async () => {
  const cookies = await context.cookies(issuer)
  const rt = cookies.find((c) => c.name === '__Host-gh_refresh')
  check(rt && rt.value.length > 20, `no refresh cookie in the browser: ${cookies.map((c) => c.name)}`)
  check(rt.httpOnly && rt.secure, 'the refresh cookie is not HttpOnly and Secure')
  for (const page of [a]) {
    const seen = await page.evaluate(() => ({
      cookie: document.cookie,
      storage: JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }),
    }))
    check(!seen.cookie.includes(rt.value) && !seen.cookie.includes('gh_refresh'), `document.cookie shows the refresh token: ${seen.cookie}`)
    check(!seen.storage.includes(accessToken) && !seen.storage.includes(rt.value), 'a token is in localStorage or sessionStorage')
  }
  const direct = await a.evaluate(async (issuer) => (await fetch(`${issuer}/v1/session`, { credentials: 'include' })).status, issuer)
  equal(direct, 401, 'a plain credentialed fetch (no bearer) of /v1/session')
})

const b = await open()
await step('a second tab gets the session from the first without a rotation', async () => {
  const before = refreshCalls
  const s = await b.evaluate(() => gh.session())
  equal(s && s.session.id, sessionID, 'second tab session().session.id')
  equal(refreshCalls - before, 0, 'refresh calls when the second tab started')
})

await step('two tabs whose token is due refresh it exactly once', async () => {
  const rotated0 = await counter(metrics, 'gatehouse_refresh_grants_total', 'outcome="rotated"')
  const before = refreshCalls
  await a.waitForTimeout(7_000) // the token is now within the refresh margin
  const [sa, sb] = await Promise.all([a, b].map((p) => p.evaluate(async (issuer) => (await gh.fetch(`${issuer}/v1/session`)).status, issuer)))
  equal(sa, 200, 'tab A authenticated fetch')
  equal(sb, 200, 'tab B authenticated fetch')
  equal(refreshCalls - before, 1, 'POST /oauth/token calls by the two tabs')
  equal(await counter(metrics, 'gatehouse_refresh_grants_total', 'outcome="rotated"') - rotated0, 1, 'rotations counted by the server')
  equal(await counter(metrics, 'gatehouse_refresh_grants_total', 'outcome="reused"'), 0, 'refresh reuse detections')
})

await step('registerPasskey() with a virtual authenticator', async () => {
  const cdp = await context.newCDPSession(a)
  await cdp.send('WebAuthn.enable')
  await cdp.send('WebAuthn.addVirtualAuthenticator', { options: {
    protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true,
  } })
  await a.bringToFront() // WebAuthn needs the focused page
  const pk = await a.evaluate(() => gh.registerPasskey('e2e key'))
  equal(pk.name, 'e2e key', 'registered passkey name')
  check(pk.id, 'no passkey id')
})

await step('sign-out in one tab: the other sees onChange(null) and session() null', async () => {
  await b.evaluate(() => { window.changes.length = 0 })
  await a.evaluate(() => gh.signOut())
  await b.waitForFunction(() => window.changes.includes(null), null, { timeout: 5_000 })
  equal(await b.evaluate(() => gh.session()), null, "the other tab's session()")
  equal(await a.evaluate(() => gh.session()), null, "the signing-out tab's session()")
  const cookies = await context.cookies(issuer)
  check(!cookies.some((c) => c.name === '__Host-gh_refresh'), 'the refresh cookie survived sign-out')
  const status = await a.evaluate(async ([issuer, at]) => (await fetch(`${issuer}/v1/session`, { headers: { Authorization: `Bearer ${at}` } })).status, [issuer, accessToken])
  equal(status, 401, 'the signed-out session answers its old access token with')
})

await step('signInWithPasskey() signs in again without a password', async () => {
  await a.bringToFront()
  const s = await a.evaluate(() => gh.signInWithPasskey())
  equal(s.user.email, email, 'passkey sign-in user')
  check(s.session.amr.includes('hwk') || s.session.amr.includes('swk'), `amr ${s.session.amr}`)
  await b.waitForFunction((id) => window.changes.at(-1) === id, s.session.id, { timeout: 5_000 })
  await a.evaluate(() => gh.signOut())
})

await step('without Web Locks, the BroadcastChannel election also refreshes once for two tabs', async () => {
  const ctx = await browser.newContext()
  await ctx.addInitScript(() => Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined }))
  let calls = 0
  ctx.on('request', (r) => { if (r.url() === `${issuer}/oauth/token`) calls++ })
  const [c, d] = [await newPage(ctx), await newPage(ctx)]
  for (const p of [c, d]) {
    await p.goto(`${app}/?margin=${margin}`)
    await p.waitForFunction(() => window.gh !== undefined && navigator.locks === undefined)
  }
  await c.evaluate(([email, password]) => gh.signUp({ email, password }), [`nolocks-${email}`, password])
  await d.waitForFunction(() => window.changes.at(-1), null, { timeout: 5_000 })
  equal(calls, 0, 'refresh calls before the token is due')
  await c.waitForTimeout(7_000)
  const codes = await Promise.all([c, d].map((p) => p.evaluate(async (issuer) => (await gh.fetch(`${issuer}/v1/session`)).status, issuer)))
  equal(codes.join(), '200,200', 'authenticated fetch statuses')
  equal(calls, 1, 'POST /oauth/token calls by the two tabs')
  clean(c)
  clean(d)
  await ctx.close()
})

await step('the test app page passes axe-core (the accessibility helper works)', () => accessible(a))

clean(a)
clean(b)
await browser.close()
console.log('PASS sdk')
