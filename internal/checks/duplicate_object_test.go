package checks

import (
	"strings"
	"testing"
)

// A Deployment given twice: the later, privileged copy is what is audited (as kubectl apply
// leaves it), and the earlier copy is reported as discarded.
func TestDuplicateObject(t *testing.T) {
	hardened := deploymentOf("web", "containers:\n- name: app\n  image: x\n  securityContext: {privileged: false}")
	privileged := deploymentOf("web", "containers:\n- name: app\n  image: x\n  securityContext: {privileged: true}")
	s := snapshotOf(t, hardened, privileged)
	got := runCheck(t, "duplicate-object", s, nil)
	if len(got) != 1 || !strings.HasPrefix(got[0], `ns/Deployment/web: Deployment "web" is defined again at `) || !strings.HasSuffix(got[0], "m.yaml:19; that later copy is the one applied (as kubectl apply does) and this one is discarded") {
		t.Errorf("findings: %q", got)
	}
	if p := runCheck(t, "privileged-container", s, nil); len(p) != 1 {
		t.Errorf("privileged-container on the copy applied: %q, want one finding", p)
	}
	if got := runCheck(t, "duplicate-object", snapshotOf(t, hardened), nil); got != nil {
		t.Errorf("one copy: %q", got)
	}
}
