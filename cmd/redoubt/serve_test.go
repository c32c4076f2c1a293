package main

import (
	"strings"
	"testing"
)

// TestServeUsageErrors: flags that cannot work are exit 2 with a message naming the flag, before
// anything is opened or listened on.
func TestServeUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve"}, "--data-dir"},
		{[]string{"serve", "--data-dir", dir, "--database-url", "postgres://u@h/db"}, "not both"},
		{[]string{"serve", "--data-dir", dir, "--tls-cert-file", "c.pem"}, "--tls-private-key-file"},
		{[]string{"serve", "--data-dir", dir, "--debounce", "0s"}, "--debounce"},
		{[]string{"serve", "--data-dir", dir, "--debounce", "2s", "--max-delay", "1s"}, "--max-delay"},
		{[]string{"serve", "--data-dir", dir, "--log-level", "loud"}, "--log-level"},
		{[]string{"serve", "--data-dir", dir, "--pss-level", "strict"}, "--pss-level"},
		{[]string{"serve", "--data-dir", dir, "extra"}, "unknown command"},
	} {
		code, _, stderr := redoubt(t, "", tc.args...)
		if code != exitInput || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d naming %q", tc.args, code, stderr, exitInput, tc.want)
		}
	}
}
