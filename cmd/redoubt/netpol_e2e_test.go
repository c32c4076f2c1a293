package main

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"redoubt.dev/redoubt/internal/netpol"
	"redoubt.dev/redoubt/internal/netpol/estate"
	"redoubt.dev/redoubt/internal/testenv"
)

// listJSON runs netpol list and returns its connections as sorted JSON lines, keeping those
// whose workload ends are in namespaces with the prefix.
func listJSON(t *testing.T, prefix string, args ...string) []string {
	t.Helper()
	code, out, errOut := redoubt(t, "", append([]string{"netpol", "list", "--format", "json"}, args...)...)
	if code != 0 {
		t.Fatalf("netpol list %v: exit %d\n%s", args, code, errOut)
	}
	var doc struct {
		Connections []netpol.ConnectionJSON `json:"connections"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, c := range doc.Connections {
		keep := func(e netpol.EndpointJSON) bool { return e.IP != "" || strings.HasPrefix(e.Namespace, prefix) }
		if !keep(c.Src) || !keep(c.Dst) {
			continue
		}
		b, _ := json.Marshal(c)
		lines = append(lines, string(b))
	}
	slices.Sort(lines)
	return lines
}

// Random policies created in a real control plane and read back live give the same
// connectivity as the manifests they came from: the API server's defaulting (policyTypes,
// protocols), the controller manager's ReplicaSets and Pods and the namespace labels it adds
// must not change an answer. Then live pods get addresses, and flows naming only addresses
// map to the right workloads, through a Service's cluster IP too.
func TestLiveNetpolMatchesManifests(t *testing.T) {
	c := testenv.Shared(t)
	const prefix = "np-e2e-"
	r := rand.New(rand.NewPCG(7, 11))
	e := estate.NewRandom(r, estate.Random{Namespaces: 3, Workloads: 8, Policies: 10, NamespacePrefix: prefix})
	dir := t.TempDir()
	if err := e.WriteYAML(dir); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	c.Apply(t, files...)
	cs := kubernetes.NewForConfigOrDie(c.Admin)
	ctx := context.Background()
	err := wait.PollUntilContextTimeout(ctx, 300*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		n := 0
		for i := range 3 {
			pods, err := cs.CoreV1().Pods(prefix+string(rune('0'+i))).List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, nil
			}
			n += len(pods.Items)
		}
		return n == 8, nil
	})
	if err != nil {
		t.Fatalf("the Deployments' pods did not appear: %v", err)
	}

	fromFiles := listJSON(t, prefix, dir)
	live := listJSON(t, prefix, "--kubeconfig", c.KubeconfigPath)
	if len(fromFiles) == 0 {
		t.Fatal("the estate allows nothing: the comparison would prove nothing")
	}
	if strings.Join(fromFiles, "\n") != strings.Join(live, "\n") {
		for _, l := range fromFiles {
			if !slices.Contains(live, l) {
				t.Errorf("from manifests only: %s", l)
			}
		}
		for _, l := range live {
			if !slices.Contains(fromFiles, l) {
				t.Errorf("live only: %s", l)
			}
		}
	}

	// Admin policies and a CNI-specific policy, through CustomResourceDefinitions as a cluster
	// with network-policy-api and Cilium installed serves them.
	installCRDs(t, c)
	admin := filepath.Join(dir, "admin.yaml")
	os.WriteFile(admin, []byte(adminPolicies(prefix)), 0o644)
	c.Apply(t, admin)
	t.Cleanup(func() { deleteAdminPolicies(t, c, prefix) })
	withAdminFiles := listJSON(t, prefix, dir)
	withAdminLive := listJSON(t, prefix, "--kubeconfig", c.KubeconfigPath)
	if strings.Join(withAdminFiles, "\n") == strings.Join(fromFiles, "\n") {
		t.Error("the admin policies changed nothing: the comparison would prove nothing")
	}
	if strings.Join(withAdminFiles, "\n") != strings.Join(withAdminLive, "\n") {
		for _, l := range withAdminFiles {
			if !slices.Contains(withAdminLive, l) {
				t.Errorf("with admin policies, from manifests only: %s", l)
			}
		}
		for _, l := range withAdminLive {
			if !slices.Contains(withAdminFiles, l) {
				t.Errorf("with admin policies, live only: %s", l)
			}
		}
	}
	if _, _, errOut := redoubt(t, "", "netpol", "list", "--kubeconfig", c.KubeconfigPath); !strings.Contains(errOut, "CiliumNetworkPolicy "+prefix+"1/l7") {
		t.Errorf("the live CiliumNetworkPolicy is not reported as unanalysed:\n%s", errOut)
	}

	// explain and diff read the cluster as they read the files.
	for _, pair := range [][2]string{{prefix + "0/w2", prefix + "1/w0"}, {prefix + "2/w4", prefix + "0/w2"}, {prefix + "1/w0", "10.9.0.1"}} {
		var answers []string
		for _, src := range [][]string{{dir}, {"--kubeconfig", c.KubeconfigPath}} {
			code, out, errOut := redoubt(t, "", append([]string{"netpol", "explain", pair[0], pair[1], "--format", "json"}, src...)...)
			if code != 0 {
				t.Fatalf("explain %v %v: exit %d\n%s", pair, src, code, errOut)
			}
			var exs []netpol.ExplanationJSON
			if err := json.Unmarshal([]byte(out), &exs); err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(exs[0].Allowed)
			answers = append(answers, string(b))
		}
		if answers[0] != answers[1] {
			t.Errorf("explain %v: from manifests %s, live %s", pair, answers[0], answers[1])
		}
	}
	code, out, errOut := redoubt(t, "", "netpol", "diff", "@cluster", dir, "--kubeconfig", c.KubeconfigPath)
	if code != 0 {
		t.Fatalf("diff @cluster: exit %d\n%s", code, errOut)
	}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		// The shared cluster holds other tests' workloads, which the manifests lack.
		if strings.Count(l, prefix) == 2 || (strings.Contains(l, prefix) && !strings.Contains(l, "was removed")) {
			t.Errorf("diff of the live estate and its manifests: %s", l)
		}
	}

	// Give two pods addresses, put a Service in front of one, and map flows by address.
	pods, err := cs.CoreV1().Pods(prefix+"0").List(ctx, metav1.ListOptions{})
	if err != nil || len(pods.Items) < 1 {
		t.Fatalf("pods of %s0: %v", prefix, err)
	}
	all := pods.Items
	for _, ns := range []string{prefix + "1", prefix + "2"} {
		more, _ := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		all = append(all, more.Items...)
	}
	if len(all) < 2 {
		t.Fatal("need two pods")
	}
	src, dst := all[0], all[1]
	for i, p := range []*corev1.Pod{&src, &dst} {
		p.Status.PodIP = []string{"10.244.7.10", "10.244.7.20"}[i]
		p.Status.PodIPs = []corev1.PodIP{{IP: p.Status.PodIP}}
		updated, err := cs.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
		if err != nil {
			t.Fatalf("setting %s/%s's address: %v", p.Namespace, p.Name, err)
		}
		*p = *updated
	}
	svc, err := cs.CoreV1().Services(dst.Namespace).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "np-e2e-svc"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"workload": dst.Labels["workload"]},
			Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	flows := filepath.Join(t.TempDir(), "flows.json")
	os.WriteFile(flows, []byte(`{"src":"10.244.7.10","dst":"10.244.7.20","dstPort":8080}
{"src":"10.244.7.10","dst":"`+svc.Spec.ClusterIP+`","dstPort":80}
`), 0o644)
	code, out, errOut = redoubt(t, "", "netpol", "traffic", "--kubeconfig", c.KubeconfigPath, "--flows", flows, "--format", "json")
	if code != 0 {
		t.Fatalf("netpol traffic: exit %d\n%s", code, errOut)
	}
	var rep struct {
		Observed []struct {
			Src, Dst netpol.EndpointJSON
			Port     string
			Via      string
		} `json:"observed"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	wantSrc, wantDst := src.Labels["workload"], dst.Labels["workload"]
	if len(rep.Observed) != 2 {
		t.Fatalf("observed groups: %+v", rep.Observed)
	}
	for _, g := range rep.Observed {
		if g.Src.Name != wantSrc || g.Dst.Name != wantDst || g.Port != "8080/TCP" {
			t.Errorf("flow mapped to %+v => %+v %s, want %s => %s 8080/TCP", g.Src, g.Dst, g.Port, wantSrc, wantDst)
		}
	}
	if rep.Observed[0].Via != "" || rep.Observed[1].Via != "Service "+dst.Namespace+"/np-e2e-svc" {
		t.Errorf("via: %q and %q", rep.Observed[0].Via, rep.Observed[1].Via)
	}
	// Policies generated from those flows on the live cluster pass their own verification.
	code, out, errOut = redoubt(t, "", "netpol", "generate", "--kubeconfig", c.KubeconfigPath, "--flows", flows)
	if code != 0 || !strings.Contains(errOut, "verified: all 2 flows allowed") || !strings.Contains(out, "kind: NetworkPolicy") {
		t.Errorf("generate live: exit %d\n%s\n%s", code, errOut, out)
	}
}

// installCRDs serves AdminNetworkPolicy, BaselineAdminNetworkPolicy and CiliumNetworkPolicy
// through permissive CustomResourceDefinitions.
func installCRDs(t *testing.T, c *testenv.Cluster) {
	t.Helper()
	ctx := context.Background()
	dyn := dynamic.NewForConfigOrDie(c.Admin)
	crds := dyn.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	for _, d := range []struct{ group, version, kind, plural, scope string }{
		{"policy.networking.k8s.io", "v1alpha1", "AdminNetworkPolicy", "adminnetworkpolicies", "Cluster"},
		{"policy.networking.k8s.io", "v1alpha1", "BaselineAdminNetworkPolicy", "baselineadminnetworkpolicies", "Cluster"},
		{"cilium.io", "v2", "CiliumNetworkPolicy", "ciliumnetworkpolicies", "Namespaced"},
	} {
		crd := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
			"metadata": map[string]any{"name": d.plural + "." + d.group,
				// Groups under k8s.io need this annotation; "unapproved" is the value for tests.
				"annotations": map[string]any{"api-approved.kubernetes.io": "unapproved, Redoubt end-to-end tests"}},
			"spec": map[string]any{
				"group": d.group, "scope": d.scope,
				"names": map[string]any{"kind": d.kind, "listKind": d.kind + "List", "plural": d.plural, "singular": strings.ToLower(d.kind)},
				"versions": []any{map[string]any{"name": d.version, "served": true, "storage": true,
					"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}},
			},
		}}
		if _, err := crds.Create(ctx, crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("creating the %s CRD: %v", d.kind, err)
		}
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			got, err := crds.Get(ctx, d.plural+"."+d.group, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
			for _, c := range conds {
				m, _ := c.(map[string]any)
				if m["type"] == "Established" && m["status"] == "True" {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			t.Fatalf("the %s CRD was not established: %v", d.kind, err)
		}
	}
}

// adminPolicies are admin, baseline and CNI policies confined to the test's namespaces, so
// that other tests sharing the cluster are not affected.
func adminPolicies(prefix string) string {
	ours := "{matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [" + prefix + "0, " + prefix + "1, " + prefix + "2]}]}"
	return `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: ` + prefix + `guard}
spec:
  priority: 7
  subject: {namespaces: ` + ours + `}
  ingress:
  - {name: deny-ns0, action: Deny, from: [{namespaces: {matchLabels: {kubernetes.io/metadata.name: ` + prefix + `0}}}], ports: [{portNumber: {protocol: TCP, port: 80}}]}
  - {name: pass-ns1, action: Pass, from: [{namespaces: {matchLabels: {kubernetes.io/metadata.name: ` + prefix + `1}}}]}
  - {name: allow-all, action: Allow, from: [{namespaces: ` + ours + `}], ports: [{portRange: {protocol: TCP, start: 8000, end: 8100}}]}
  egress:
  - {name: no-outside, action: Deny, to: [{networks: [192.168.0.0/16]}]}
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: ` + ours + `}
  ingress:
  - {action: Deny, from: [{namespaces: {matchLabels: {kubernetes.io/metadata.name: ` + prefix + `2}}}]}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: l7, namespace: ` + prefix + `1}
spec:
  endpointSelector: {}
`
}

func deleteAdminPolicies(t *testing.T, c *testenv.Cluster, prefix string) {
	dyn := dynamic.NewForConfigOrDie(c.Admin)
	ctx := context.Background()
	dyn.Resource(schema.GroupVersionResource{Group: "policy.networking.k8s.io", Version: "v1alpha1", Resource: "adminnetworkpolicies"}).Delete(ctx, prefix+"guard", metav1.DeleteOptions{})
	dyn.Resource(schema.GroupVersionResource{Group: "policy.networking.k8s.io", Version: "v1alpha1", Resource: "baselineadminnetworkpolicies"}).Delete(ctx, "default", metav1.DeleteOptions{})
	dyn.Resource(schema.GroupVersionResource{Group: "cilium.io", Version: "v2", Resource: "ciliumnetworkpolicies"}).Namespace(prefix+"1").Delete(ctx, "l7", metav1.DeleteOptions{})
}
