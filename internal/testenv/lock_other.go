//go:build !unix

package testenv

import (
	"context"
	"errors"
)

// lockFile is not implemented without flock; the test control plane runs on Unix only.
func lockFile(context.Context, string) (func(), error) {
	return nil, errors.New("testenv: locking the binary cache needs flock, which this OS lacks")
}
