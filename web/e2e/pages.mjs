// The hosted pages in a real Chromium (docs/hosted-pages.md): sign-up, sign-in and a wrong
// password, a passkey and the passkey button, a second factor, the consent page and the
// OpenID Connect code flow to a relying party on 127.0.0.1, error pages; on every page no
// CSP violation and an axe-core scan; the size and speed of the sign-in page.
import { createServer } from 'node:http'
import { createHash, randomBytes } from 'node:crypto'
import { launch, newPage, clean, check, equal, env, step, accessible } from './lib.mjs'
import { screenshot, noCSPViolations, cookieHidden, totp } from './pages-lib.mjs'

const issuer = env('GATEHOUSE_ISSUER')
const adminKey = env('GATEHOUSE_ADMIN_KEY')
const email = 'ada@example.com'
const password = 'correct horse battery staple'

const browser = await launch()
const viewport = { width: 760, height: 720 }
const context = await browser.newContext({ viewport, colorScheme: 'light' })
const page = await newPage(context)

/** Checks the page the browser is on: no CSP violation, no error, accessible. */
async function audit(p = page) {
  noCSPViolations(p)
  clean(p)
  await accessible(p)
}

async function signOut() {
  await page.goto(`${issuer}/ui/logout`)
  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.waitForLoadState()
}

async function signInWithPassword() {
  await page.goto(`${issuer}/ui/login`)
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in', exact: true }).click()
  await page.waitForLoadState()
}

await step('sign-up on /ui/signup', async () => {
  await page.goto(`${issuer}/ui/signup`)
  await audit()
  await screenshot(page, 'signup')
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Create account' }).click()
  await page.waitForURL(`${issuer}/ui/account`)
  await audit()
})

await step('the session cookie is HttpOnly: document.cookie does not show it', async () => {
  await cookieHidden(context, page, issuer)
})

await step('sign-out on /ui/logout', async () => {
  await page.goto(`${issuer}/ui/logout`)
  await audit()
  await screenshot(page, 'logout')
  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.getByText('You are signed out on this browser.').waitFor()
  check(!(await context.cookies(issuer)).some((c) => c.name.endsWith('gh_session')), 'the session cookie survived sign-out')
  await audit()
})

await step('a wrong password shows one message and keeps the email', async () => {
  await page.goto(`${issuer}/ui/login`)
  await audit()
  await screenshot(page, 'login')
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill('not the password at all')
  await page.getByRole('button', { name: 'Sign in', exact: true }).click()
  await page.getByRole('alert').filter({ hasText: 'The email or password is not right.' }).waitFor()
  equal(await page.getByLabel('Email').inputValue(), email, 'email kept')
  equal(await page.getByLabel('Password').inputValue(), '', 'password kept')
  await audit()
})

await step('sign-in on /ui/login', async () => {
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in', exact: true }).click()
  await page.waitForURL(`${issuer}/ui/account`)
  await cookieHidden(context, page, issuer)
})

await step('register a passkey through the JSON API (virtual authenticator)', async () => {
  const cdp = await context.newCDPSession(page)
  await cdp.send('WebAuthn.enable')
  await cdp.send('WebAuthn.addVirtualAuthenticator', { options: {
    protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true,
  } })
  await page.bringToFront()
  const res = await page.evaluate(async () => {
    const post = (path, body) => fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
    const opts = await (await post('/v1/passkeys/register/begin', {})).json()
    const cred = await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(opts.publicKey) })
    const r = await post('/v1/passkeys/register/finish', { ...cred.toJSON(), name: 'e2e key' })
    return { status: r.status, body: await r.json() }
  })
  equal(res.status, 201, `passkey registration (${JSON.stringify(res.body)})`)
})

await step('password-less sign-in with "Sign in with a passkey"', async () => {
  await signOut()
  await page.goto(`${issuer}/ui/login`)
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click()
  await page.waitForURL(`${issuer}/ui/account`)
  const s = await page.evaluate(async () => (await fetch('/v1/session')).json())
  equal(s.user.email, email, 'passkey sign-in user')
  check(s.session.amr.some((m) => m === 'hwk' || m === 'swk'), `amr ${s.session.amr}`)
  await audit()
})

let secret
await step('enrol an authenticator app through the JSON API', async () => {
  const e = await page.evaluate(async () => (await fetch('/v1/mfa/totp', { method: 'POST' })).json())
  secret = e.secret
  check(secret, `enrolment ${JSON.stringify(e)}`)
  // The previous step's code (accepted one step either side), so that the sign-in below,
  // with this step's code, is not a reused step.
  const r = await page.evaluate(async (code) => {
    const r = await fetch('/v1/mfa/totp/confirm', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ code }) })
    return { status: r.status, body: await r.json() }
  }, totp(secret, -1))
  equal(r.status, 200, `confirm (${JSON.stringify(r.body)})`)
})

await step('sign-in with a password and a TOTP code on /ui/mfa', async () => {
  await signOut()
  await signInWithPassword()
  await page.getByLabel(/code/i).first().waitFor()
  check(!page.url().includes('mfa_token'), 'the second-step token is in the URL')
  await audit()
  await screenshot(page, 'mfa')
  await page.getByRole('textbox').first().fill('000000')
  await page.getByRole('button', { name: /verify|continue|sign in/i }).first().click()
  await page.getByText('That code is wrong, expired or already used.').waitFor()
  await audit()
  await page.getByRole('textbox').first().fill(totp(secret))
  await page.getByRole('button', { name: /verify|continue|sign in/i }).first().click()
  await page.waitForURL(`${issuer}/ui/account`)
  const s = await page.evaluate(async () => (await fetch('/v1/session')).json())
  check(s.session.amr.includes('mfa'), `amr after the second factor: ${s.session.amr}`)
})

await step('sign-in with a password and the passkey as the second factor on /ui/mfa', async () => {
  await signOut()
  await signInWithPassword()
  const button = page.getByRole('button', { name: 'Use a passkey' })
  await button.waitFor()
  await page.bringToFront()
  await button.click()
  await page.waitForURL(`${issuer}/ui/account`)
  const s = await page.evaluate(async () => (await fetch('/v1/session')).json())
  check(s.session.amr.includes('mfa') && s.session.amr.some((m) => m === 'hwk' || m === 'swk'), `amr after the passkey step: ${s.session.amr}`)
  await audit()
})

// A relying party on 127.0.0.1 that captures the authorization response.
const responses = []
const rp = createServer((req, res) => {
  const u = new URL(req.url, 'http://127.0.0.1')
  if (u.pathname === '/cb') responses.push(u)
  res.setHeader('Content-Type', 'text/html; charset=utf-8')
  res.end('<!doctype html><html lang="en"><title>Example App</title><main><h1>Back at the app</h1></main></html>')
})
await new Promise((r) => rp.listen(0, '127.0.0.1', r))
const callback = `http://127.0.0.1:${rp.address().port}/cb`

await step('the code flow: consent page, Allow, code, tokens', async () => {
  const reg = await fetch(`${issuer}/v1/admin/clients`, { method: 'POST', headers: { Authorization: `Bearer ${adminKey}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'Example App', type: 'confidential', redirect_uris: [callback], allowed_scopes: ['openid', 'email', 'profile', 'offline_access'] }) })
  const client = await reg.json()
  equal(reg.status, 201, `client registration (${JSON.stringify(client)})`)
  const verifier = randomBytes(32).toString('base64url')
  const challenge = createHash('sha256').update(verifier).digest('base64url')
  const q = new URLSearchParams({ client_id: client.client_id, redirect_uri: callback, response_type: 'code', scope: 'openid email offline_access',
    state: 'st-browser', nonce: 'n-browser', code_challenge: challenge, code_challenge_method: 'S256' })
  await page.goto(`${issuer}/oauth/authorize?${q}`)
  await page.getByRole('heading', { name: 'Allow Example App?' }).waitFor({ timeout: 5_000 })
    .catch(async (e) => { throw new Error(`${e.message}\nat ${page.url()}: ${await page.innerText('body')}`) })
  await page.getByText('See your email address').waitFor()
  await page.getByText(`Signed in as ${email}`).waitFor()
  await audit()
  await screenshot(page, 'consent')
  await page.getByRole('button', { name: 'Allow' }).click()
  await page.waitForURL((u) => u.href.startsWith(callback))
  const got = responses.at(-1)
  equal(got.searchParams.get('state'), 'st-browser', 'state')
  equal(got.searchParams.get('iss'), issuer, 'iss')
  const tok = await fetch(`${issuer}/oauth/token`, { method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: 'Basic ' + Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64') },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: got.searchParams.get('code'), redirect_uri: callback, code_verifier: verifier }) })
  const t = await tok.json()
  equal(tok.status, 200, `token exchange (${JSON.stringify(t)})`)
  const claims = JSON.parse(Buffer.from(t.id_token.split('.')[1], 'base64url'))
  equal(claims.email, email, 'ID token email')
  equal(claims.nonce, 'n-browser', 'ID token nonce')

  // Asked again, the person denies: access_denied at the app.
  q.set('prompt', 'consent')
  q.set('state', 'st-deny')
  await page.goto(`${issuer}/oauth/authorize?${q}`)
  await page.getByRole('button', { name: 'Deny' }).click()
  await page.waitForURL((u) => u.href.startsWith(callback))
  equal(responses.at(-1).searchParams.get('error'), 'access_denied', 'deny answer')
  equal(responses.at(-1).searchParams.get('state'), 'st-deny', 'deny state')
  check(!responses.at(-1).searchParams.has('code'), 'a code after Deny')
})

await step('error pages: an unknown application, an unknown page', async () => {
  await page.goto(`${issuer}/oauth/authorize?client_id=nope&redirect_uri=${encodeURIComponent(callback)}&response_type=code`)
  await page.getByRole('heading', { name: 'Unknown application' }).waitFor()
  await audit()
  await screenshot(page, 'error')
  await page.goto(`${issuer}/ui/no-such-page`)
  await page.getByRole('heading', { name: 'Page not found' }).waitFor()
  await audit()
})
rp.close()

await step('the sign-in page: size, third-party requests, time to interactive', async () => {
  const ctx = await browser.newContext({ viewport })
  const p = await ctx.newPage()
  const cdp = await ctx.newCDPSession(p)
  await cdp.send('Network.enable')
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true })
  const urls = new Map()
  let bytes = 0
  cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, e.request.url))
  cdp.on('Network.loadingFinished', (e) => { bytes += e.encodedDataLength })
  await p.goto(`${issuer}/ui/login`, { waitUntil: 'load' })
  await p.waitForTimeout(200)
  const foreign = [...urls.values()].filter((u) => !u.startsWith(`${issuer}/`))
  check(foreign.length === 0, `third-party requests: ${foreign.join(', ')}`)
  const tti = await p.evaluate(() => {
    const n = performance.getEntriesByType('navigation')[0]
    return { interactive: n.domInteractive - n.startTime, loaded: n.loadEventEnd - n.startTime }
  })
  console.log(`     sign-in page: ${urls.size} requests, ${bytes} bytes transferred (HTML+CSS+JS, with headers); ` +
    `DOM interactive after ${tti.interactive.toFixed(1)} ms, load after ${tti.loaded.toFixed(1)} ms`)
  equal(urls.size, 3, 'requests of the sign-in page (HTML, CSS, JS)')
  check(bytes < 30 * 1024, `the sign-in page transferred ${bytes} bytes, want < 30 KB`)
  check(tti.interactive < 2000, `DOM interactive after ${tti.interactive} ms`)
  await ctx.close()
})

await browser.close()
console.log('all hosted-page checks passed')
