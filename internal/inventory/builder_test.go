package inventory

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/google/go-containerregistry/pkg/name"
)

func meta(ns, name string, owner ...metav1.OwnerReference) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(ns + "/" + name), OwnerReferences: owner}
}

func controlledBy(kind, name string) metav1.OwnerReference {
	t := true
	return metav1.OwnerReference{Kind: kind, Name: name, Controller: &t, UID: types.UID(name)}
}

func podOf(ns, name, node string, labels map[string]string, owner ...metav1.OwnerReference) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: meta(ns, name, owner...), Spec: corev1.PodSpec{NodeName: node,
		Containers: []corev1.Container{{Name: "app", Image: "reg.internal/app:1"}}}}
	p.Labels = labels
	return p
}

// Pods roll up to their top owner: through a ReplicaSet to its Deployment, through a Job to its
// CronJob; owners the snapshot lacks leave the ReplicaSet, or the bare Pod, as the workload.
func TestBuilderRollsPodsUpToWorkloads(t *testing.T) {
	b := NewBuilder(Source{Kind: SourceCluster, Cluster: "c"}, "")
	labels := map[string]string{"app": "web"}
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "reg.internal/app:1"}}}}
	b.Add(&appsv1.Deployment{ObjectMeta: meta("ns", "web"), Spec: appsv1.DeploymentSpec{Template: tmpl,
		Selector: &metav1.LabelSelector{MatchLabels: labels}}}, Origin{}, nil)
	b.Add(&appsv1.ReplicaSet{ObjectMeta: meta("ns", "web-abc", controlledBy("Deployment", "web")), Spec: appsv1.ReplicaSetSpec{Template: tmpl}}, Origin{}, nil)
	b.Add(&appsv1.ReplicaSet{ObjectMeta: meta("ns", "orphan-rs"), Spec: appsv1.ReplicaSetSpec{Template: tmpl}}, Origin{}, nil)
	b.Add(&batchv1.CronJob{ObjectMeta: meta("ns", "nightly"), Spec: batchv1.CronJobSpec{JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: tmpl}}}}, Origin{}, nil)
	b.Add(&batchv1.Job{ObjectMeta: meta("ns", "nightly-123", controlledBy("CronJob", "nightly")), Spec: batchv1.JobSpec{Template: tmpl}}, Origin{}, nil)
	b.Add(&batchv1.Job{ObjectMeta: meta("ns", "adhoc"), Spec: batchv1.JobSpec{Template: tmpl}}, Origin{}, nil)
	b.Add(podOf("ns", "web-abc-1", "node-b", labels, controlledBy("ReplicaSet", "web-abc")), Origin{}, nil)
	b.Add(podOf("ns", "web-abc-2", "node-a", labels, controlledBy("ReplicaSet", "web-abc")), Origin{}, nil)
	b.Add(podOf("ns", "web-abc-3", "node-a", labels, controlledBy("ReplicaSet", "web-abc")), Origin{}, nil)
	b.Add(podOf("ns", "orphan-rs-1", "", labels, controlledBy("ReplicaSet", "orphan-rs")), Origin{}, nil)
	b.Add(podOf("ns", "nightly-123-x", "", labels, controlledBy("Job", "nightly-123")), Origin{}, nil)
	b.Add(podOf("ns", "adhoc-y", "", labels, controlledBy("Job", "adhoc")), Origin{}, nil)
	b.Add(podOf("ns", "rollout-pod", "", labels, controlledBy("Rollout", "canary")), Origin{}, nil)
	b.Add(podOf("ns", "bare", "", labels), Origin{}, nil)
	s := b.Snapshot()

	got := map[string][]string{}
	for _, w := range s.Workloads {
		for _, p := range w.Pods {
			got[w.Key()] = append(got[w.Key()], p.Name)
		}
		if len(w.Pods) == 0 {
			got[w.Key()] = nil
		}
	}
	want := map[string][]string{
		"ns/Deployment/web":       {"web-abc-1", "web-abc-2", "web-abc-3"},
		"ns/ReplicaSet/orphan-rs": {"orphan-rs-1"},
		"ns/CronJob/nightly":      {"nightly-123-x"},
		"ns/Job/adhoc":            {"adhoc-y"},
		"ns/Pod/rollout-pod":      {"rollout-pod"},
		"ns/Pod/bare":             {"bare"},
	}
	if len(got) != len(want) {
		t.Errorf("workloads: %v", got)
	}
	for k, pods := range want {
		if !slices.Equal(got[k], pods) {
			t.Errorf("%s has pods %v, want %v", k, got[k], pods)
		}
	}
	if w := s.Workload("ns", "Deployment", "web"); !slices.Equal(w.Nodes, []string{"node-a", "node-b"}) {
		t.Errorf("nodes = %v", w.Nodes)
	}
	if n := s.Namespace("ns"); n == nil || !n.Implied || n.Labels[corev1.LabelMetadataName] != "ns" {
		t.Errorf("implied namespace: %+v", n)
	}
}

func TestBuilderDefaultsAndIndexes(t *testing.T) {
	b := NewBuilder(Source{Kind: SourceManifests}, "team")
	labels := map[string]string{"app": "api"}
	b.Add(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "api", Labels: labels}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "app", Image: "reg.internal/api@sha256:" + digest64, Ports: []corev1.ContainerPort{{ContainerPort: 80}}}},
		Volumes:    []corev1.Volume{{Name: "scratch"}},
	}}, Origin{File: "a.yaml", Line: 1}, map[string]int{"app": 9})
	b.Add(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "api"}, Spec: corev1.ServiceSpec{Selector: labels,
		Ports: []corev1.ServicePort{{Port: 8080}}}}, Origin{File: "a.yaml", Line: 20}, nil)
	b.Add(&networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "ing"}, Spec: networkingv1.IngressSpec{
		DefaultBackend: &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "api"}}}}, Origin{File: "a.yaml", Line: 30}, nil)
	b.Add(&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "np"}, Spec: networkingv1.NetworkPolicySpec{
		Egress: []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{{}}}}}}, Origin{File: "a.yaml", Line: 40}, nil)
	s := b.Snapshot()

	w := s.Workloads[0]
	if w.Namespace != "team" {
		t.Errorf("default namespace not applied: %q", w.Namespace)
	}
	if w.Template.Spec.Volumes[0].EmptyDir == nil {
		t.Errorf("a volume with no source must become an emptyDir, as the API server makes it")
	}
	if w.Template.Spec.Containers[0].Ports[0].Protocol != corev1.ProtocolTCP {
		t.Errorf("container port protocol not defaulted")
	}
	if w.ContainerLine("app") != 9 {
		t.Errorf("container line of a bare pod lost")
	}
	svc := s.Services[0]
	if svc.Spec.Type != corev1.ServiceTypeClusterIP || svc.Spec.Ports[0].TargetPort.IntValue() != 8080 || svc.Spec.Ports[0].Protocol != corev1.ProtocolTCP {
		t.Errorf("service defaults: %+v", svc.Spec)
	}
	if len(w.Services) != 1 || len(w.Ingresses) != 1 || len(s.Ingresses[0].Services) != 1 {
		t.Errorf("exposure not indexed: services %d ingresses %d", len(w.Services), len(w.Ingresses))
	}
	np := s.NetworkPolicies[0]
	if !slices.Equal(np.Spec.PolicyTypes, []networkingv1.PolicyType{"Ingress", "Egress"}) || *np.Spec.Egress[0].Ports[0].Protocol != corev1.ProtocolTCP {
		t.Errorf("network policy defaults: %+v", np.Spec)
	}
	if len(s.Images) != 1 || s.Images[0].Digest != "sha256:"+digest64 || s.Images[0].Uses[0].Workload != w {
		t.Errorf("images: %+v", s.Images)
	}
}

const digest64 = "4032c6d5bfd752342c3e631c2f1de93ba6b86c41db6b167b9a35372c139e7706"

func TestParseImageRef(t *testing.T) {
	tests := []struct {
		ref                      string
		registry, repo, tag, dig string
		implicit                 bool
	}{
		{"busybox", name.DefaultRegistry, "library/busybox", "", "", true},
		{"team/app:1.2", name.DefaultRegistry, "team/app", "1.2", "", true},
		{"reg.internal:5000/team/app", "reg.internal:5000", "team/app", "", "", false},
		{"localhost/app:dev", "localhost", "app", "dev", "", false},
		{"reg.internal/app:1@sha256:" + digest64, "reg.internal", "app", "1", "sha256:" + digest64, false},
	}
	for _, tc := range tests {
		r, err := ParseImageRef(tc.ref)
		if err != nil {
			t.Errorf("%s: %v", tc.ref, err)
			continue
		}
		if r.Registry != tc.registry || r.Repository != tc.repo || r.Tag != tc.tag || r.Digest != tc.dig || r.ImplicitRegistry != tc.implicit {
			t.Errorf("%s: %+v", tc.ref, r)
		}
	}
	if _, err := ParseImageRef("UPPER/Case::x"); err == nil {
		t.Errorf("invalid reference accepted")
	}
}
