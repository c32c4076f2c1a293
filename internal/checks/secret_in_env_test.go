package checks

import (
	"testing"

	"redoubt.dev/redoubt/internal/config"
)

// A finding about one env entry points at that entry's line, not at the container's.
func TestSecretInEnvPointsAtTheEntry(t *testing.T) {
	s := snapshotOf(t, deploymentOf("web", `containers:
- name: sidecar
  image: x
- name: app
  image: x
  env:
  - name: LOG_LEVEL
    value: debug
  - name: DB_PASSWORD
    value: hunter2-xyz
initContainers:
- name: init
  image: x
  env: [{name: LOG_LEVEL, value: info}, {name: API_KEY, value: "sk_live_abcdefghijklmnopqrstuvwx"}]`))
	var chk *Check
	for _, c := range All() {
		if c.Rule.ID == "secret-in-env" {
			chk = c
		}
	}
	e := &emitter{rule: chk.Rule}
	chk.run(&Context{Snapshot: s, Config: config.Default(), PSSVersion: "latest"}, e)
	got := map[string]int{}
	for _, f := range e.out {
		got[f.Resource.Container] = f.Location.Line
	}
	// The pod spec starts on line 13 (containers:); container app on 16, its DB_PASSWORD entry
	// on 21; the init container on 24, its entries both on line 26.
	want := map[string]int{"app": 21, "init": 26}
	for c, l := range want {
		if got[c] != l {
			t.Errorf("container %s: finding at line %d, want %d (the env entry)", c, got[c], l)
		}
	}
}
