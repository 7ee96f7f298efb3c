// Shared helpers of the real-browser specs (docs/browser-sdk.md "Tests"). A spec is a plain
// Node script run by web/e2e/browser_test.go: it reads its URLs from the environment, prints
// what it does, and exits non-zero with a clear message on the first failure.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { chromium } from 'playwright-core'

/** The Chromium the harness found (GATEHOUSE_CHROMIUM, default /usr/bin/chromium). */
export const executablePath = process.env.GATEHOUSE_CHROMIUM || '/usr/bin/chromium'

/** Flags for a quiet, reproducible browser: no sandbox (containers), no background traffic. */
export const chromiumArgs = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-dev-shm-usage',
  // localhost and *.localhost are secure contexts; resolve them all to IPv4 loopback, where
  // the harness listens.
  '--host-resolver-rules=MAP localhost 127.0.0.1, MAP *.localhost 127.0.0.1',
]

/** Stops the spec with a message; the Go test shows it. */
export function fail(message) {
  console.error(`FAIL: ${message}`)
  process.exit(1)
}

/** Fails unless cond holds. */
export function check(cond, message) {
  if (!cond) fail(message)
}

/** Fails unless actual === expected. */
export function equal(actual, expected, what) {
  if (actual !== expected) fail(`${what}: got ${JSON.stringify(actual)}, want ${JSON.stringify(expected)}`)
}

/** The value of a required environment variable. */
export function env(name) {
  const v = process.env[name]
  if (!v) fail(`environment variable ${name} is not set (run the spec through go test ./web/e2e)`)
  return v
}

/** Runs one named step, printing its name and duration; an exception fails the spec. */
export async function step(name, fn) {
  const t0 = Date.now()
  try {
    const v = await fn()
    console.log(`ok   ${name} (${Date.now() - t0} ms)`)
    return v
  } catch (e) {
    fail(`${name}: ${e && e.stack ? e.stack : e}`)
  }
}

/** Launches Chromium with a fresh temporary profile. */
export async function launch(options = {}) {
  return chromium.launch({ executablePath, args: chromiumArgs, timeout: 60_000, ...options })
}

/**
 * Opens a page that records Content-Security-Policy violations and console errors in
 * page.problems (each a string). Network failures the page expects (a 401 from a signed-out
 * check) show as "Failed to load resource" console errors; clean() ignores those by default.
 */
export async function newPage(context) {
  const page = await context.newPage()
  page.problems = []
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`)
    })
  })
  page.on('console', (m) => { if (m.type() === 'error') page.problems.push(m.text()) })
  page.on('pageerror', (e) => page.problems.push(`uncaught: ${e.message}`))
  return page
}

/** Fails if page had CSP violations, uncaught exceptions or console errors (bar ignore). */
export function clean(page, ignore = [/^Failed to load resource/]) {
  const left = page.problems.filter((p) => !ignore.some((re) => re.test(p)))
  if (left.length) fail(`page ${page.url()} reported:\n  ${left.join('\n  ')}`)
}

/** Reads a Prometheus counter (summed over series whose labels contain match) from url. */
export async function counter(url, name, match = '') {
  const text = await (await fetch(url)).text()
  let sum = 0
  for (const line of text.split('\n')) {
    if (line.startsWith(name) && (line[name.length] === '{' || line[name.length] === ' ') && line.includes(match)) {
      sum += Number(line.slice(line.lastIndexOf(' ') + 1))
    }
  }
  return sum
}

/**
 * Runs axe-core on page (WCAG 2.1 A and AA rules) and fails listing every violation. The
 * script is evaluated through the DevTools protocol, so the page's CSP need not allow it.
 */
export async function accessible(page) {
  const source = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')
  await page.evaluate(source)
  const violations = await page.evaluate(async () => (await window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
  })).violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`))
  if (violations.length) fail(`accessibility violations on ${page.url()}:\n  ${violations.join('\n  ')}`)
}
