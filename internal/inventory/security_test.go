package inventory

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

func TestResolveSecurity(t *testing.T) {
	runtimeDefault := &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
	unconfined := &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}
	tests := []struct {
		name      string
		pod       *corev1.PodSecurityContext
		container *corev1.SecurityContext
		seccomp   corev1.SeccompProfileType
		root      bool
		escalate  bool
	}{
		{"nothing set: the runtime's defaults", nil, nil, "", true, true},
		{"container seccomp", nil, &corev1.SecurityContext{SeccompProfile: runtimeDefault}, corev1.SeccompProfileTypeRuntimeDefault, true, true},
		{"pod seccomp", &corev1.PodSecurityContext{SeccompProfile: runtimeDefault}, nil, corev1.SeccompProfileTypeRuntimeDefault, true, true},
		{"container overrides pod", &corev1.PodSecurityContext{SeccompProfile: runtimeDefault}, &corev1.SecurityContext{SeccompProfile: unconfined}, corev1.SeccompProfileTypeUnconfined, true, true},
		{"pod non-root", &corev1.PodSecurityContext{RunAsNonRoot: ref(true)}, nil, "", false, true},
		{"pod UID, container UID 0", &corev1.PodSecurityContext{RunAsUser: ref[int64](1000)}, &corev1.SecurityContext{RunAsUser: ref[int64](0)}, "", true, true},
		{"container UID over pod non-root false", &corev1.PodSecurityContext{RunAsNonRoot: ref(false)}, &corev1.SecurityContext{RunAsUser: ref[int64](1)}, "", false, true},
		{"no escalation", nil, &corev1.SecurityContext{AllowPrivilegeEscalation: ref(false)}, "", true, false},
		{"privileged always escalates", nil, &corev1.SecurityContext{AllowPrivilegeEscalation: ref(false), Privileged: ref(true)}, "", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := &corev1.PodSpec{SecurityContext: tt.pod, Containers: []corev1.Container{{Name: "c", SecurityContext: tt.container}}}
			got := ResolveSecurity(spec, &spec.Containers[0])
			if got.Seccomp != tt.seccomp || got.RunsAsRoot() != tt.root || got.AllowPrivilegeEscalation != tt.escalate {
				t.Errorf("seccomp %q, root %v, escalation %v; want %q, %v, %v", got.Seccomp, got.RunsAsRoot(), got.AllowPrivilegeEscalation, tt.seccomp, tt.root, tt.escalate)
			}
		})
	}
}

// The inventory reads seccomp where the checks do: a profile set on every container is set, not
// "unset" because the pod level is empty.
func TestSummarySeccompReadsContainers(t *testing.T) {
	sc := func(typ corev1.SeccompProfileType) *corev1.SecurityContext {
		return &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: typ}}
	}
	tests := []struct {
		name       string
		pod        *corev1.PodSecurityContext
		containers []corev1.Container
		want       string
	}{
		{"every container RuntimeDefault", nil, []corev1.Container{{Name: "a", SecurityContext: sc("RuntimeDefault")}, {Name: "b", SecurityContext: sc("RuntimeDefault")}}, "RuntimeDefault"},
		{"pod level", &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: "RuntimeDefault"}}, []corev1.Container{{Name: "a"}}, "RuntimeDefault"},
		{"nothing", nil, []corev1.Container{{Name: "a"}}, ""},
		{"mixed", nil, []corev1.Container{{Name: "a", SecurityContext: sc("RuntimeDefault")}, {Name: "b"}}, "RuntimeDefault (a), unset (b)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBuilder(Source{Kind: SourceManifests}, "")
			b.Add(&appsv1.Deployment{ObjectMeta: meta("ns", "web"), Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{
				Spec: corev1.PodSpec{SecurityContext: tt.pod, Containers: tt.containers}}}}, Origin{}, nil)
			s := b.Snapshot()
			if got := s.Summarize(s.Workloads[0]).Security.Seccomp; got != tt.want {
				t.Errorf("seccomp %q, want %q", got, tt.want)
			}
		})
	}
}

func ref[T any](v T) *T { return &v }
