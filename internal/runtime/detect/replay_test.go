package detect

import (
	"bufio"
	"encoding/json"
	"os"
	"slices"
	"testing"

	"redoubt.dev/redoubt/internal/runtime/event"
)

// TestRecordedReverseShells replays events the real sensor recorded (redoubt sensor -o) while
// two bash reverse shells ran: one on the node (`bash --norc --noprofile -i`), one in a
// container's cgroup whose bash -i read the rc files (pyenv init: a dozen shells forked from
// subshells the sensor never saw exec, all holding the socket). Each session must raise
// exactly one alert, attributed where it ran.
func TestRecordedReverseShells(t *testing.T) {
	f, err := os.Open("testdata/bash-reverse-shells.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := New()
	var got []Alert
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		var e event.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		n++
		got = append(got, d.Observe(&e)...)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, a := range got {
		if a.Check != "runtime-reverse-shell" {
			continue
		}
		t.Logf("%s: %s", a.Resource, a.Message)
		kinds = append(kinds, a.Resource.Kind)
	}
	slices.Sort(kinds)
	if !slices.Equal(kinds, []string{"Container", "Node"}) {
		t.Errorf("replaying %d events: reverse-shell alerts on %v, want one on the Container and one on the Node", n, kinds)
	}
}
