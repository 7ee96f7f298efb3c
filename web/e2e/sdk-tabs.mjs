// Measures refresh-token rotations with five tabs of one app calling the API once a second:
// with one refresh for all tabs (Web Locks + BroadcastChannel), the refresh token rotates once
// per access-token lifetime, not once per tab. Prints "refreshes per tab-minute with 5 tabs".
import { launch, newPage, clean, check, equal, env, step, counter } from './lib.mjs'

const issuer = env('GATEHOUSE_ISSUER')
const app = env('GATEHOUSE_APP_URL')
const ttl = Number(env('GATEHOUSE_ACCESS_TTL'))
const lifetime = 8 // seconds a token is used before it is due (the SDK's margin is ttl - lifetime)
const seconds = Number(process.env.GATEHOUSE_TABS_SECONDS || 30)
const tabs = 5
const metrics = `${issuer}/metrics`

const browser = await launch()
const context = await browser.newContext()
let refreshCalls = 0
context.on('request', (r) => { if (r.url() === `${issuer}/oauth/token`) refreshCalls++ })

const pages = []
for (let i = 0; i < tabs; i++) {
  const p = await newPage(context)
  await p.goto(`${app}/?margin=${ttl - lifetime}`)
  await p.waitForFunction(() => window.gh !== undefined)
  pages.push(p)
}
await step('sign up in the first tab; every tab sees the session', async () => {
  await pages[0].evaluate(() => gh.signUp({ email: `tabs-${Date.now()}@example.com`, password: 'correct horse battery staple' }))
  for (const p of pages.slice(1)) {
    await p.waitForFunction(() => window.changes.length > 0 && window.changes.at(-1) !== null, null, { timeout: 5_000 })
  }
})

const rotated0 = await counter(metrics, 'gatehouse_refresh_grants_total', 'outcome="rotated"')
const calls0 = refreshCalls
const t0 = Date.now()
await step(`${tabs} tabs call gh.fetch once a second for ${seconds} s`, async () => {
  const results = await Promise.all(pages.map((p, i) => p.evaluate(async ([issuer, seconds, i]) => {
    const codes = {}
    await new Promise((r) => setTimeout(r, i * 200)) // tabs out of step
    const end = Date.now() + seconds * 1000
    while (Date.now() < end) {
      const s = (await gh.fetch(`${issuer}/v1/session`)).status
      codes[s] = (codes[s] || 0) + 1
      await new Promise((r) => setTimeout(r, 1000))
    }
    return codes
  }, [issuer, seconds, i])))
  for (const [i, codes] of results.entries()) {
    check(Object.keys(codes).every((c) => c === '200'), `tab ${i} got answers ${JSON.stringify(codes)}`)
  }
})
const elapsed = (Date.now() - t0) / 1000
const rotations = await counter(metrics, 'gatehouse_refresh_grants_total', 'outcome="rotated"') - rotated0
const calls = refreshCalls - calls0
const lifetimes = elapsed / lifetime
const perTabMinute = rotations / (tabs * elapsed / 60)
console.log(`refreshes per tab-minute with ${tabs} tabs: ${perTabMinute.toFixed(2)} ` +
  `(${rotations} rotations, ${calls} refresh requests in ${elapsed.toFixed(1)} s; ` +
  `${(rotations / lifetimes).toFixed(2)} rotations per ${lifetime} s token lifetime, goal 1, one per tab would be ${tabs})`)
await step('about one rotation per token lifetime, and never a reuse', async () => {
  equal(calls, rotations, 'refresh requests (each one must rotate)')
  check(rotations <= Math.ceil(lifetimes) + 1, `${rotations} rotations for ${lifetimes.toFixed(1)} token lifetimes`)
  check(rotations >= Math.floor(lifetimes) - 1, `only ${rotations} rotations for ${lifetimes.toFixed(1)} token lifetimes: was the token refreshed at all?`)
  equal(await counter(metrics, 'gatehouse_refresh_grants_total', 'outcome="reused"'), 0, 'refresh reuse detections')
  equal(await counter(metrics, 'gatehouse_refresh_grants_total', 'outcome="grace_replay"'), 0, 'grace replays (two tabs raced)')
})
pages.forEach((p) => clean(p))
await browser.close()
console.log('PASS sdk-tabs')
