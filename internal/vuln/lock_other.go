//go:build !unix

package vuln

// lockDir does not lock where flock is unavailable: concurrent updates are still safe for
// readers (each builds its own file and renames it), the last one wins.
func lockDir(dir string) (unlock func(), err error) { return func() {}, nil }
