// Helpers of the hosted-page specs (pages.mjs, pages-handoff.mjs): screenshots, CSP
// counting, cookie checks and a tiny RFC 6238 TOTP.
import { createHmac } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { check, env } from './lib.mjs'

const shots = env('GATEHOUSE_SCREENSHOTS')
mkdirSync(shots, { recursive: true })

/** Saves a screenshot of page as <dir>/<name>.png at a fixed, phone-to-laptop-neutral size. */
export async function screenshot(page, name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true, animations: 'disabled' })
}

/** Fails if the page's document saw a securitypolicyviolation (see lib.mjs newPage). */
export function noCSPViolations(page) {
  const v = page.problems.filter((p) => p.startsWith('CSP violation'))
  check(v.length === 0, `CSP violations on ${page.url()}:\n  ${v.join('\n  ')}`)
}

/** Fails unless the session cookie of origin is HttpOnly and invisible to document.cookie. */
export async function cookieHidden(context, page, origin) {
  const cookies = await context.cookies(origin)
  const s = cookies.find((c) => c.name.endsWith('gh_session'))
  check(s && s.value, `no session cookie for ${origin}: ${JSON.stringify(cookies.map((c) => c.name))}`)
  check(s.httpOnly, 'the session cookie is not HttpOnly')
  check(s.name === '__Host-gh_session' && s.secure && !s.domain.startsWith('.'), `the session cookie is not a Secure, host-only __Host- cookie: ${JSON.stringify(s)}`)
  const visible = await page.evaluate(() => document.cookie)
  check(!visible.includes('gh_session') && !visible.includes(s.value), `document.cookie shows the session: ${visible}`)
  return s.value
}

function base32(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let bits = ''
  for (const c of s.replace(/=+$/, '').toUpperCase()) {
    const v = alphabet.indexOf(c)
    if (v < 0) throw new Error(`not base32: ${c}`)
    bits += v.toString(2).padStart(5, '0')
  }
  const out = []
  for (let i = 0; i + 8 <= bits.length; i += 8) out.push(parseInt(bits.slice(i, i + 8), 2))
  return Buffer.from(out)
}

/**
 * The RFC 6238 code (HMAC-SHA-1, 6 digits, 30 s steps) of a base32 secret, steps periods
 * from now (RFC 4226 §5.3 dynamic truncation).
 */
export function totp(secret, steps = 0) {
  const counter = Math.floor(Date.now() / 30_000) + steps
  const msg = Buffer.alloc(8)
  msg.writeBigUInt64BE(BigInt(counter))
  const mac = createHmac('sha1', base32(secret)).update(msg).digest()
  const off = mac[mac.length - 1] & 0xf
  const n = (mac.readUInt32BE(off) & 0x7fffffff) % 1_000_000
  return String(n).padStart(6, '0')
}
