# The whole test suite: formatting, vet, and every test with the race detector, including the
# end-to-end tests against a real kube-apiserver (its binaries are built once, from the Go module
# proxy, into ~/.cache/redoubt; the first run takes several minutes longer).
.PHONY: test build fmt vet docs bench

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
