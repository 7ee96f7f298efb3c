// Cross-domain sign-in in a real Chromium (docs/cross-domain.md): one Gatehouse answers
// a.localhost (the issuer) and b.localhost; a browser signed in on a opens /ui/handoff on a
// and lands signed in on b with a session cookie of its own. The code travels only in a
// POST body, is refused when replayed, and no page reports a CSP violation.
import { launch, newPage, clean, check, equal, env, step, accessible } from './lib.mjs'
import { screenshot, noCSPViolations, cookieHidden } from './pages-lib.mjs'

const a = env('GATEHOUSE_HOST_A')
const b = env('GATEHOUSE_HOST_B')
const target = `${b}/v1/handoff/complete`
const handoff = `${a}/ui/handoff?` + new URLSearchParams({ target, return_to: '/ui/account' })
const email = 'grace@example.com'
const password = 'correct horse battery staple'

const browser = await launch()
const viewport = { width: 760, height: 720 }
const context = await browser.newContext({ viewport, colorScheme: 'light' })
const page = await newPage(context)
const urls = []
let code = ''
page.on('request', (r) => {
  urls.push(r.url())
  if (r.url() === target && r.method() === 'POST') code = new URLSearchParams(r.postData() || '').get('code') || ''
})

let cookieA
await step('sign up on a', async () => {
  await page.goto(`${a}/ui/signup`)
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Create account' }).click()
  await page.waitForURL(`${a}/ui/account`)
  cookieA = await cookieHidden(context, page, a)
  check(!(await context.cookies(b)).some((c) => c.name.endsWith('gh_session')), 'b has a session cookie before the handoff')
})

await step('/ui/handoff on a lands signed in on b with its own session', async () => {
  await page.goto(handoff)
  await page.waitForURL(`${b}/ui/account`)
  check(code, 'no code was posted to the target')
  check(!urls.some((u) => u.includes(code)), 'the handoff code appeared in a URL')
  const cookieB = await cookieHidden(context, page, b)
  check(cookieB !== cookieA, 'b got the same session cookie as a')
  const sb = await page.evaluate(async () => (await fetch('/v1/session')).json())
  equal(sb.user.email, email, 'user signed in on b')
  noCSPViolations(page)
  clean(page)
})

await step('a replayed code is refused: "the link expired, go back and try again"', async () => {
  // Posted from a page of b itself (its form-action allows 'self').
  await page.evaluate(([target, code]) => {
    const f = document.createElement('form')
    f.method = 'post'
    f.action = target
    const i = document.createElement('input')
    i.type = 'hidden'
    i.name = 'code'
    i.value = code
    f.append(i)
    document.body.append(f)
    f.submit()
  }, [target, code])
  await page.getByText('This sign-in link has expired or was already used. Go back and try again.').waitFor()
  equal(page.url(), target, 'failure page address')
  await screenshot(page, 'handoff-expired')
  noCSPViolations(page)
  clean(page)
  await accessible(page)
})

await step('without scripts and without a session: sign in on a, press Continue, land on b', async () => {
  const ctx = await browser.newContext({ viewport, colorScheme: 'light', javaScriptEnabled: false })
  const p = await ctx.newPage()
  await p.goto(handoff)
  check(p.url().startsWith(`${a}/ui/login?`), `not sent to sign in first: ${p.url()}`)
  await p.getByLabel('Email').fill(email)
  await p.getByLabel('Password').fill(password)
  await p.getByRole('button', { name: 'Sign in', exact: true }).click()
  await p.waitForURL((u) => u.origin === a && u.pathname === '/ui/handoff')
  const button = p.getByRole('button', { name: `Continue to ${new URL(b).host}` })
  await button.waitFor()
  await screenshot(p, 'handoff')
  await button.click()
  await p.waitForURL(`${b}/ui/account`)
  const [ca, cb] = [(await ctx.cookies(a)), (await ctx.cookies(b))].map((cs) => cs.find((c) => c.name.endsWith('gh_session'))?.value)
  check(ca && cb && ca !== cb, 'the two hosts do not have two sessions')
  await ctx.close()
})

await browser.close()
console.log('all handoff checks passed')
