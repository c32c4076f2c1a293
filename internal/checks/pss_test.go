package checks

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	"sigs.k8s.io/yaml"

	"redoubt.dev/redoubt/internal/config"
	"redoubt.dev/redoubt/internal/inventory"
)

// Every upstream Pod Security check is reported by exactly one Redoubt check.
func TestEveryUpstreamPSSCheckIsRegistered(t *testing.T) {
	have := map[string]string{}
	for c := range pssChecks {
		_, id, _ := strings.Cut(strings.TrimPrefix(c.Rule.References[0], "pss:"), ":")
		if prev, dup := have[id]; dup {
			t.Errorf("upstream check %s reported by both %s and %s", id, prev, c.Rule.ID)
		}
		have[id] = c.Rule.ID
	}
	for _, up := range policy.DefaultChecks() {
		if _, ok := have[string(up.ID)]; !ok {
			t.Errorf("upstream Pod Security check %q (%s) has no Redoubt check", up.ID, up.Level)
		}
	}
}

// pssChecks are the checks that wrap an upstream Pod Security check.
var pssChecks = map[*Check]bool{}

func init() {
	for _, c := range []*Check{privilegedContainer, hostNamespaces, hostPathVolume, hostPorts, nonDefaultCapabilities,
		procMount, seccompUnconfined, seLinuxOptions, unsafeSysctls, appArmorUnconfined, windowsHostProcess, hostProbes,
		privilegeEscalation, capabilitiesNotDropped, runAsRoot, runAsUserZero, seccompProfileMissing,
		restrictedVolumeTypes, procMountRestricted} {
		pssChecks[c] = true
	}
}

// randomPod builds a pod spec from random choices over every field a Pod Security check reads,
// including the values at the edge of each rule.
func randomPod(r *rand.Rand) corev1.PodSpec {
	pick := func(n int) int { return r.IntN(n) }
	boolp := func() *bool {
		switch pick(3) {
		case 0:
			return nil
		case 1:
			v := true
			return &v
		}
		v := false
		return &v
	}
	int64p := func(vals ...int64) *int64 {
		if pick(3) == 0 {
			return nil
		}
		v := vals[pick(len(vals))]
		return &v
	}
	seccomp := func() *corev1.SeccompProfile {
		switch pick(5) {
		case 0:
			return &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}
		case 1:
			return &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
		case 2:
			lp := "profiles/p.json"
			return &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: &lp}
		}
		return nil
	}
	caps := []corev1.Capability{"NET_BIND_SERVICE", "CHOWN", "NET_RAW", "SYS_ADMIN", "ALL", "KILL"}
	sc := func() *corev1.SecurityContext {
		if pick(4) == 0 {
			return nil
		}
		s := &corev1.SecurityContext{Privileged: boolp(), AllowPrivilegeEscalation: boolp(), RunAsNonRoot: boolp(),
			RunAsUser: int64p(0, 1000), SeccompProfile: seccomp(), ReadOnlyRootFilesystem: boolp()}
		if pick(2) == 0 {
			s.Capabilities = &corev1.Capabilities{}
			for range pick(3) {
				s.Capabilities.Add = append(s.Capabilities.Add, caps[pick(len(caps))])
			}
			if pick(2) == 0 {
				s.Capabilities.Drop = []corev1.Capability{"ALL"}
			}
		}
		if pick(6) == 0 {
			pm := corev1.UnmaskedProcMount
			s.ProcMount = &pm
		}
		if pick(6) == 0 {
			s.SELinuxOptions = &corev1.SELinuxOptions{Type: []string{"container_t", "spc_t"}[pick(2)]}
		}
		if pick(8) == 0 {
			s.AppArmorProfile = &corev1.AppArmorProfile{Type: []corev1.AppArmorProfileType{corev1.AppArmorProfileTypeUnconfined, corev1.AppArmorProfileTypeRuntimeDefault}[pick(2)]}
		}
		if pick(10) == 0 {
			hp := true
			s.WindowsOptions = &corev1.WindowsSecurityContextOptions{HostProcess: &hp}
		}
		return s
	}
	container := func(name string) corev1.Container {
		c := corev1.Container{Name: name, Image: "app:1", SecurityContext: sc()}
		if pick(5) == 0 {
			c.Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: int32(pick(2) * 8080)}}
		}
		if pick(8) == 0 {
			c.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Host: "10.0.0.1"}}}
		}
		return c
	}
	spec := corev1.PodSpec{HostNetwork: pick(6) == 0, HostPID: pick(8) == 0, HostIPC: pick(8) == 0}
	if pick(2) == 0 {
		spec.SecurityContext = &corev1.PodSecurityContext{RunAsNonRoot: boolp(), RunAsUser: int64p(0, 1000), SeccompProfile: seccomp()}
		if pick(6) == 0 {
			spec.SecurityContext.Sysctls = []corev1.Sysctl{{Name: []string{"kernel.shm_rmid_forced", "kernel.msgmax", "net.ipv4.tcp_keepalive_time"}[pick(3)], Value: "1"}}
		}
	}
	if pick(8) == 0 {
		hu := false
		spec.HostUsers = &hu
	}
	for i := range 1 + pick(2) {
		spec.Containers = append(spec.Containers, container(fmt.Sprintf("c%d", i)))
	}
	if pick(3) == 0 {
		spec.InitContainers = []corev1.Container{container("init")}
	}
	vols := []corev1.VolumeSource{
		{EmptyDir: &corev1.EmptyDirVolumeSource{}},
		{HostPath: &corev1.HostPathVolumeSource{Path: "/data"}},
		{NFS: &corev1.NFSVolumeSource{Server: "nfs", Path: "/"}},
		{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}},
		{}, // no source: the API server makes it an emptyDir
	}
	for i := range pick(3) {
		spec.Volumes = append(spec.Volumes, corev1.Volume{Name: fmt.Sprintf("v%d", i), VolumeSource: vols[pick(len(vols))]})
	}
	return spec
}

// wrap renders a pod spec as a manifest of the given workload kind.
func wrap(kind string, spec corev1.PodSpec) string {
	tmpl := map[string]any{"metadata": map[string]any{"labels": map[string]string{"app": "w"}}, "spec": spec}
	var obj map[string]any
	switch kind {
	case "Pod":
		obj = map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "w", "namespace": "ns", "labels": map[string]string{"app": "w"}}, "spec": spec}
	case "CronJob":
		obj = map[string]any{"apiVersion": "batch/v1", "kind": kind, "metadata": map[string]any{"name": "w", "namespace": "ns"},
			"spec": map[string]any{"schedule": "* * * * *", "jobTemplate": map[string]any{"spec": map[string]any{"template": tmpl}}}}
	case "Job":
		obj = map[string]any{"apiVersion": "batch/v1", "kind": kind, "metadata": map[string]any{"name": "w", "namespace": "ns"},
			"spec": map[string]any{"template": tmpl}}
	default:
		obj = map[string]any{"apiVersion": "apps/v1", "kind": kind, "metadata": map[string]any{"name": "w", "namespace": "ns"},
			"spec": map[string]any{"selector": map[string]any{"matchLabels": map[string]string{"app": "w"}}, "template": tmpl}}
	}
	b, err := yaml.Marshal(obj)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestPSSAgreesWithUpstreamEvaluator generates pods, wraps them in every workload kind, scans
// the manifests, and compares Redoubt's Pod Security findings with the upstream evaluator's
// verdict on the same pod spec (after the API server's defaults), at both levels.
func TestPSSAgreesWithUpstreamEvaluator(t *testing.T) {
	eval, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	kinds := []string{"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}
	n := 300
	if testing.Short() {
		n = 60
	}
	denied := map[string]int{}
	for i := range n {
		spec := randomPod(r)
		kind := kinds[i%len(kinds)]
		s := snapshotOf(t, wrap(kind, spec))
		if len(s.Workloads) != 1 {
			t.Fatalf("%s: %d workloads", kind, len(s.Workloads))
		}
		w := s.Workloads[0]
		for _, level := range []string{"baseline", "restricted"} {
			cfg := config.Default()
			cfg.PSSLevel = level
			var got []string
			for c := range pssChecks {
				got = append(got, runCheckQuiet(c, s, cfg)...)
			}
			lv := api.LevelVersion{Level: api.Level(level), Version: api.LatestVersion()}
			var want []string
			for _, res := range eval.EvaluatePod(lv, &metav1.ObjectMeta{Labels: w.Template.Labels}, &w.Template.Spec) {
				if !res.Allowed {
					msg := res.ForbiddenReason
					if res.ForbiddenDetail != "" {
						msg += " (" + res.ForbiddenDetail + ")"
					}
					want = append(want, msg)
				}
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				y, _ := yaml.Marshal(spec)
				t.Fatalf("%s at %s: Redoubt reports\n  %q\nupstream forbids\n  %q\npod spec:\n%s", kind, level, got, want, y)
			}
			if len(want) > 0 {
				denied[level]++
			}
		}
	}
	// The generator must exercise both verdicts, or the comparison proves nothing.
	if denied["baseline"] == 0 || denied["baseline"] == n || denied["restricted"] == 0 {
		t.Errorf("generator is lopsided: %v denials in %d pods", denied, n)
	}
}

func runCheckQuiet(chk *Check, s *inventory.Snapshot, cfg *config.Config) []string {
	c := &Context{Snapshot: s, Config: cfg, PSSLevel: cfg.PSSLevel, PSSVersion: "latest"}
	e := &emitter{rule: chk.Rule}
	chk.run(c, e)
	var out []string
	for _, f := range e.out {
		out = append(out, f.Message)
	}
	return out
}

// At restricted, upstream evaluates restricted checks in place of the baseline checks they
// override; a baseline violation must still be reported at its own severity, under its own rule,
// and a violation only restricted forbids at the restricted rule's.
func TestPSSRestrictedKeepsBaselineSeverity(t *testing.T) {
	const seccompSet = "securityContext: {seccompProfile: {type: RuntimeDefault}}\n"
	tests := []struct {
		name  string
		rules []string // the PSS rules of the violation at hand
		spec  string
		want  string // check severity
	}{
		{"unmasked /proc", []string{"proc-mount", "proc-mount-restricted"}, seccompSet + `containers:
- {name: app, image: x, securityContext: {procMount: Unmasked}}`, "proc-mount high"},
		{"unmasked /proc in a user namespace", []string{"proc-mount", "proc-mount-restricted"}, seccompSet + `hostUsers: false
containers:
- {name: app, image: x, securityContext: {procMount: Unmasked}}`, "proc-mount-restricted medium"},
		{"explicit Unconfined seccomp", []string{"seccomp-unconfined", "seccomp-profile-missing"}, `securityContext: {seccompProfile: {type: Unconfined}}
containers:
- {name: app, image: x}`, "seccomp-unconfined medium"},
		{"explicit Unconfined seccomp in a container", []string{"seccomp-unconfined", "seccomp-profile-missing"}, seccompSet + `containers:
- {name: app, image: x, securityContext: {seccompProfile: {type: Unconfined}}}`, "seccomp-unconfined medium"},
		{"seccomp not set", []string{"seccomp-unconfined", "seccomp-profile-missing"}, `containers:
- {name: app, image: x}`, "seccomp-profile-missing low"},
		{"an added capability", []string{"non-default-capabilities", "capabilities-not-dropped"}, seccompSet + `containers:
- {name: app, image: x, securityContext: {capabilities: {add: [SYS_ADMIN], drop: [ALL]}}}`, "non-default-capabilities high"},
		{"capabilities not dropped", []string{"non-default-capabilities", "capabilities-not-dropped"}, seccompSet + `containers:
- {name: app, image: x}`, "capabilities-not-dropped medium"},
		{"a hostPath volume", []string{"host-path-volume", "restricted-volume-types"}, seccompSet + `containers:
- {name: app, image: x}
volumes:
- {name: data, hostPath: {path: /data}}`, "host-path-volume medium"},
		{"an NFS volume", []string{"host-path-volume", "restricted-volume-types"}, seccompSet + `containers:
- {name: app, image: x}
volumes:
- {name: data, nfs: {server: nfs, path: /}}`, "restricted-volume-types medium"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := snapshotOf(t, deploymentOf("web", tt.spec))
			cfg := config.Default()
			cfg.PSSLevel = "restricted"
			var got []string
			for _, f := range Run(&Context{Snapshot: s, Config: cfg, PSSVersion: "latest"}) {
				if slices.Contains(tt.rules, f.Check) {
					got = append(got, f.Check+" "+f.Severity.String())
				}
			}
			if len(got) != 1 || got[0] != tt.want {
				t.Errorf("findings %q, want [%q]", got, tt.want)
			}
		})
	}
}
