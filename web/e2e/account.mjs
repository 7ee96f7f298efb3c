// The hosted account page (docs/hosted-pages.md) in a real Chromium: two browsers signed in
// to one account, the first signs the second out from "Sessions and devices"; an
// authenticator app is set up through the page (QR code and key) and the next sign-in asks
// for its code on /ui/mfa. No page may report a CSP violation, and axe-core finds no
// WCAG A/AA problem on the account page. Saves docs/screenshots/account.png.
import { createHmac } from 'node:crypto'
import { launch, newPage, clean, check, equal, env, step, accessible } from './lib.mjs'

const issuer = env('GATEHOUSE_ISSUER')
const email = `account-${Date.now()}@example.com`
const password = 'correct horse battery staple'

/** Decodes RFC 4648 base32 (no padding). */
function base32(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let bits = 0, val = 0
  const out = []
  for (const c of s.replace(/=+$/, '')) {
    val = ((val << 5) | alphabet.indexOf(c)) & 0xffff
    bits += 5
    if (bits >= 8) { out.push((val >>> (bits - 8)) & 255); bits -= 8 }
  }
  return Buffer.from(out)
}

/** The TOTP code (RFC 6238: SHA-1, 6 digits, 30 s) of secret at time t (ms). */
function totp(secret, t) {
  const b = Buffer.alloc(8)
  b.writeBigUInt64BE(BigInt(Math.floor(t / 30_000)))
  const h = createHmac('sha1', base32(secret)).update(b).digest()
  const o = h[h.length - 1] & 15
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1_000_000).padStart(6, '0')
}

const browser = await launch()
const ctxA = await browser.newContext({ viewport: { width: 900, height: 900 } })
const ctxB = await browser.newContext()
const a = await newPage(ctxA)
const b = await newPage(ctxB)

await step('sign up in browser A, land on the account page', async () => {
  await a.goto(`${issuer}/ui/signup`)
  await a.fill('#email', email)
  await a.fill('#password', password)
  await Promise.all([a.waitForURL(`${issuer}/ui/account`), a.click('button[type=submit]')])
  check((await a.textContent('main')).includes(email), 'account page does not name the user')
})

await step('sign in with the same account in browser B', async () => {
  await b.goto(`${issuer}/ui/login`)
  await b.fill('#email', email)
  await b.fill('#password', password)
  await Promise.all([b.waitForURL(`${issuer}/ui/account`), b.click('button[type=submit]')])
})

await step('browser A lists both devices, this one marked', async () => {
  await a.reload()
  equal(await a.locator('section[aria-labelledby=sessions-h] .gh-list > li').count(), 2, 'sessions listed')
  equal(await a.locator('li[aria-current=true]').count(), 1, 'sessions marked as this device')
  check((await a.textContent('li[aria-current=true]')).includes('this device'), 'no "this device" tag')
})

await step('the account page has no accessibility problems', async () => {
  await accessible(a)
  await a.screenshot({ path: '../docs/screenshots/account.png', fullPage: true })
})

await step('browser A signs browser B out', async () => {
  await Promise.all([a.waitForURL(/\/ui\/account\?done=session$/),
    a.click('section[aria-labelledby=sessions-h] li:not([aria-current]) button')])
  check((await a.textContent('.gh-flash')).includes('signed out'), 'no confirmation message')
  equal(await a.locator('section[aria-labelledby=sessions-h] .gh-list > li').count(), 1, 'sessions left')
  await b.goto(`${issuer}/ui/account`)
  check(b.url().startsWith(`${issuer}/ui/login`), `browser B still signed in: ${b.url()}`)
})

await step('add a passkey with the page button (virtual authenticator), then rename it', async () => {
  const cdp = await ctxA.newCDPSession(a)
  await cdp.send('WebAuthn.enable')
  await cdp.send('WebAuthn.addVirtualAuthenticator', { options: {
    protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true,
  } })
  await a.bringToFront() // WebAuthn needs the focused page
  await a.waitForSelector('#passkey-add:not([hidden])')
  await Promise.all([a.waitForURL(/\/ui\/account\?done=passkey_added$/), a.click('#passkey-add')])
  const rename = a.locator('form[action="/ui/account/passkeys/rename"]')
  equal(await rename.count(), 1, 'passkeys listed')
  await rename.locator('input[name=name]').fill('Work laptop')
  await Promise.all([a.waitForURL(/done=passkey_rename$/), rename.locator('button').click()])
  check((await a.textContent('section[aria-labelledby=mfa-h]')).includes('Work laptop'), 'passkey not renamed')
})

await step('an email link: the token moves from the fragment into the form, and only a POST uses it', async () => {
  await b.goto(`${issuer}/ui/email/verify#token=abc.def`)
  equal(await b.inputValue('form[data-fragment-token] input[name=token]'), 'abc.def', 'token copied into the form')
  equal(await b.evaluate(() => window.location.hash), '', 'fragment left in the address bar')
  await accessible(b)
  await b.click('form[data-fragment-token] button')
  check((await b.textContent('h1')).includes('expired'), 'a made-up token was not refused')
})

let secret = ''
let used = 0
await step('set up an authenticator app through the page', async () => {
  await a.click('form[action="/ui/account/totp"] button')
  await a.waitForSelector('img.gh-qr')
  const src = await a.getAttribute('img.gh-qr', 'src')
  check(src.startsWith('data:image/png;base64,'), 'QR code is not a data: image')
  check(await a.evaluate(() => document.querySelector('img.gh-qr').naturalWidth > 0), 'QR image did not load')
  secret = (await a.textContent('#totp-secret')).trim()
  used = Date.now()
  await a.fill('#totp_code', totp(secret, used))
  await a.click('form[action="/ui/account/totp/confirm"] button')
  await a.waitForSelector('.gh-codelist')
  equal(await a.locator('.gh-codelist li').count(), 10, 'recovery codes shown')
  await accessible(a)
})

await step('the next sign-in asks for the code on /ui/mfa', async () => {
  await b.goto(`${issuer}/ui/login`)
  await b.fill('#email', email)
  await b.fill('#password', password)
  await b.click('button[type=submit]')
  await b.waitForSelector('input[autocomplete=one-time-code]')
  // A code is used once: wait for the next 30-second step after the enrolment's.
  const next = (Math.floor(used / 30_000) + 1) * 30_000
  if (Date.now() < next) await new Promise((r) => setTimeout(r, next - Date.now() + 200))
  await b.fill('input[name=code]', totp(secret, Date.now()))
  await Promise.all([b.waitForURL(`${issuer}/ui/account`), b.click('form[action="/ui/mfa"] button[type=submit]')])
  check((await b.textContent('main')).includes(email), 'not signed in after the code')
})

await step('no CSP violation or script error on any page', async () => {
  clean(a)
  clean(b)
})

await browser.close()
console.log('account spec passed')
