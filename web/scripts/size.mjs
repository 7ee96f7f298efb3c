// Prints the browser SDK's size minified and gzipped, as a ratio to its 5 KB budget
// (docs/performance.md). Exits non-zero when the budget is exceeded.
import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { fileURLToPath } from 'node:url'
import { transform } from 'esbuild'

const limit = 5 * 1024
const file = fileURLToPath(new URL('../sdk/gatehouse.js', import.meta.url))
const src = readFileSync(file, 'utf8')
const { code } = await transform(src, { minify: true, format: 'esm', target: 'es2020' })
const gz = gzipSync(code, { level: 9 }).length
console.log(`BenchmarkSDKSize\tsource ${src.length} B\tminified ${code.length} B\tgzip ${gz} B\t${(gz / limit).toFixed(2)}x of the 5 KB limit`)
if (gz > limit) {
  console.error('the browser SDK is over its 5 KB (minified + gzip) budget')
  process.exit(1)
}
