# The two commands a newcomer needs are in README.md; this file holds the longer ones.
.PHONY: run test check bench fuzz

run:
	go run ./cmd/gatehouse serve

test:
	go test ./...

check:
	gofmt -l $$(git ls-files '*.go')
	go vet ./...
	go tool staticcheck ./...

# Benchmarks print their figures, with ratios against the goals of docs/performance.md.
bench:
	go test -run '^$$' -bench . -benchmem ./...
	@if [ -d web/node_modules/esbuild ]; then node web/scripts/size.mjs; \
	else echo "BenchmarkSDKSize: skipped; run npm ci --prefix web"; fi

# A short run of every fuzz target.
fuzz:
	@for pkg in $$(go list ./...); do \
	  for f in $$(go test -list 'Fuzz.*' $$pkg | grep ^Fuzz); do \
	    go test -run '^$$' -fuzz "^$$f$$" -fuzztime 20s $$pkg || exit 1; \
	  done; \
	done
