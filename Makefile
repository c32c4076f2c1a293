# The whole test suite: formatting, vet, and every test with the race detector, including the
# end-to-end tests against a real kube-apiserver (its binaries are built once, from the Go module
# proxy, into ~/.cache/redoubt; the first run takes several minutes longer).
.PHONY: example test build fmt vet docs bench

# The README's main job: build the example's images from real Debian, npm and Go packages and load
# the vulnerability data the tests use (cached outside the repository; about a minute the first
# time, seconds after), then scan the example estate, images included.
example:
	go run ./examples/shop/images -import-db
	go run ./cmd/redoubt scan examples/shop

test: fmt vet
	go test -race -timeout 60m ./...

build:
	go build -o bin/redoubt ./cmd/redoubt

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	go vet ./...

# Regenerate docs/checks.md from the check registry.
docs:
	go run ./cmd/redoubt checks --format markdown > docs/checks.md

bench:
	go test ./cmd/redoubt -run XXX -bench ScanEstate10k -benchtime 3x
