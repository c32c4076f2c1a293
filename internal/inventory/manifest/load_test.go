package manifest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"redoubt.dev/redoubt/internal/inventory"
)

// write creates files under a temporary directory and returns its path.
func write(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func load(t *testing.T, opts Options, paths ...string) *inventory.Snapshot {
	t.Helper()
	s, err := Load(context.Background(), paths, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// problems renders a snapshot's problems relative to dir, one per line.
func problems(s *inventory.Snapshot, dir string) string {
	var out []string
	for _, p := range s.Problems {
		p.File = strings.TrimPrefix(p.File, dir+string(filepath.Separator))
		out = append(out, p.Error())
	}
	return strings.Join(out, "\n")
}

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      initContainers:
        - name: init
          image: busybox:1.36
      containers:
        - name: app
          image: web:1.0
`

func TestLoadOriginsAndLines(t *testing.T) {
	dir := write(t, map[string]string{
		"all.yaml": "# leading comment\n" + deployment + "---\n\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  selector: {app: web}\n  ports: [{port: 80}]\n",
	})
	s := load(t, Options{}, dir)
	if p := problems(s, dir); p != "" {
		t.Fatalf("unexpected problems:\n%s", p)
	}
	if len(s.Workloads) != 1 || len(s.Services) != 1 {
		t.Fatalf("got %d workloads and %d services, want 1 and 1", len(s.Workloads), len(s.Services))
	}
	w := s.Workloads[0]
	if w.Origin.File != filepath.Join(dir, "all.yaml") || w.Origin.Line != 2 {
		t.Errorf("deployment origin = %s, want all.yaml:2", w.Origin)
	}
	if got := w.ContainerLine("app"); got != 18 {
		t.Errorf("container app declared at line %d, want 18", got)
	}
	if got := w.ContainerLine("init"); got != 15 {
		t.Errorf("init container declared at line %d, want 15", got)
	}
	if got := s.Services[0].Origin.Line; got != 23 {
		t.Errorf("service at line %d, want 23", got)
	}
	if len(w.Services) != 1 {
		t.Errorf("service does not select the deployment")
	}
}

func TestLoadBadInput(t *testing.T) {
	bomb := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\nextra:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h"} {
		bomb += "  " + n + ": &" + n + " [" + strings.Repeat("*"+prev+", ", 9) + "*" + prev + "]\n"
		prev = n
	}
	tests := []struct {
		name    string
		body    string
		want    string // a problem, as file:line: object: message
		objects int    // workloads + services + others that still load
	}{
		{"duplicate key", "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  name: b\n", `f.yaml:5: duplicate key "name" (first at line 4)`, 0},
		{"syntax error keeps other documents", "foo: [\n---\n" + "apiVersion: v1\nkind: Service\nmetadata:\n  name: ok\n", "f.yaml:1: did not find expected node content", 1},
		{"unknown field is reported but the object is audited", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: x\n    imagePullPolice: Always\n",
			`f.yaml:9: Pod "p": unknown field "spec.containers[0].imagePullPolice"`, 1},
		{"unknown fields name the first one's line", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labelz: {a: b}\nspec:\n  containers:\n  - name: c\n    image: x\n    imagePullPolice: Always\n",
			`f.yaml:5: Pod "p": unknown field "metadata.labelz", unknown field "spec.containers[0].imagePullPolice"`, 1},
		{"syntax error names the offending line, not its block's", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: x\n        ports:\n        - containerPort: 80\n       bad: 1\n",
			"f.yaml:13: did not find expected key", 0},
		{"syntax error in a later document", "apiVersion: v1\nkind: Service\nmetadata:\n  name: ok\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    env:\n    - name: A\n      value: b\n    - name: B\n     value: c\n",
			"f.yaml:17: did not find expected key", 1},
		{"removed API version", "apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata:\n  name: old\n",
			`f.yaml:1: Deployment "old": apiVersion extensions/v1beta1 is not served by current Kubernetes for Deployment; use apps/v1`, 0},
		{"no kind", "metadata:\n  name: x\n", "f.yaml:1: document has no apiVersion or kind: not a Kubernetes object", 0},
		{"no name", "apiVersion: v1\nkind: Service\nmetadata: {}\n", "f.yaml:1: Service: object has no metadata.name", 0},
		{"scalar document", "just text\n", "f.yaml:1: a Kubernetes object must be a mapping, not a scalar", 0},
		{"alias bomb", bomb, "f.yaml:6: document expands to more than 1048576 values (an alias bomb?)", 0},
		{"custom resource is kept, not an error", "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n", "", 1},
		{"list kinds", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: a}\n- apiVersion: v1\n  kind: Service\n  metadata: {name: b}\n", "", 2},
		{"list item that is not an object", "apiVersion: v1\nkind: List\nitems:\n- 42\n", "f.yaml:4: item 0 of the List is not an object", 0},
		{"json", `{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "j"}}`, "", 1},
		{"deep nesting", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\nx: " + strings.Repeat("[", 150) + strings.Repeat("]", 150) + "\n",
			"f.yaml:5: document nests deeper than 100 levels", 0},
		{"merge keys", "apiVersion: v1\nkind: Service\nmetadata:\n  name: merged\n  labels: &l {a: b}\n  annotations:\n    <<: *l\n    c: d\n", "", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := write(t, map[string]string{"f.yaml": tc.body})
			s := load(t, Options{}, dir)
			if got := problems(s, dir); got != tc.want {
				t.Errorf("problems:\n got: %s\nwant: %s", got, tc.want)
			}
			if n := len(s.Workloads) + len(s.Services) + len(s.Others) + len(s.ConfigMaps); n != tc.objects {
				t.Errorf("%d objects loaded, want %d", n, tc.objects)
			}
		})
	}
}

func TestLoadFileLimitAndMissingPaths(t *testing.T) {
	dir := write(t, map[string]string{"big.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: big\n" + "# " + strings.Repeat("x", 2<<20) + "\n"})
	s := load(t, Options{Limits: Limits{MaxFileBytes: 1 << 20}}, dir, filepath.Join(dir, "missing.yaml"))
	want := "big.yaml: file is larger than the 1 MiB limit; split it or raise --max-file-size\nmissing.yaml: no such file or directory"
	if got := problems(s, dir); got != want {
		t.Errorf("problems:\n got: %s\nwant: %s", got, want)
	}
}

// Typed lists as the API server returns them (kubectl get pods -o yaml gives a v1 List, but the
// API and client libraries give PodList, DeploymentList, ...) carry no kind or apiVersion on
// their items: each item takes its list's.
func TestLoadTypedLists(t *testing.T) {
	dir := write(t, map[string]string{
		"pods.json": `{"apiVersion": "v1", "kind": "PodList", "metadata": {"resourceVersion": "42"}, "items": [
  {"metadata": {"name": "p1", "namespace": "shop"}, "spec": {"containers": [{"name": "c", "image": "x"}]}},
  {"metadata": {"name": "p2", "namespace": "shop"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}]}`,
		"namespaces.yaml": "apiVersion: v1\nkind: NamespaceList\nitems:\n- metadata:\n    name: shop\n    labels: {team: a}\n",
		"deployments.yaml": "apiVersion: apps/v1\nkind: DeploymentList\nitems:\n- metadata: {name: web, namespace: shop}\n" +
			"  spec:\n    selector: {matchLabels: {app: web}}\n    template:\n      metadata: {labels: {app: web}}\n      spec: {containers: [{name: app, image: web}]}\n",
		"roles.yaml":   "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleList\nitems:\n- metadata: {name: reader}\n  rules: []\n",
		"untyped.yaml": "apiVersion: v1\nkind: List\nitems:\n- metadata: {name: x}\n",
	})
	s := load(t, Options{}, dir)
	if got, want := problems(s, dir), "untyped.yaml:4: document has no apiVersion or kind: not a Kubernetes object"; got != want {
		t.Errorf("problems:\n got: %s\nwant: %s", got, want)
	}
	var got []string
	for _, w := range s.Workloads {
		got = append(got, w.Key())
	}
	for _, n := range s.Namespaces {
		if !n.Implied {
			got = append(got, "Namespace/"+n.Name+" team="+n.Labels["team"])
		}
	}
	for _, r := range s.ClusterRoles {
		got = append(got, "ClusterRole/"+r.Name)
	}
	slices.Sort(got)
	want := []string{"ClusterRole/reader", "Namespace/shop team=a", "shop/Deployment/web", "shop/Pod/p1", "shop/Pod/p2"}
	if !slices.Equal(got, want) {
		t.Errorf("objects:\n got: %q\nwant: %q", got, want)
	}
	if l := s.Workloads[0].Origin.Line; s.Workloads[0].Name == "web" && l != 4 {
		t.Errorf("deployment at line %d, want 4 (its item)", l)
	}
}

// The same object given twice: the later copy is the one loaded, as kubectl apply leaves it,
// and each replaced copy is recorded. An unset namespace is the one objects are applied to.
func TestLoadDuplicateObjects(t *testing.T) {
	svc := func(ns, port string) string {
		meta := "  name: s\n"
		if ns != "" {
			meta += "  namespace: " + ns + "\n"
		}
		return "apiVersion: v1\nkind: Service\nmetadata:\n" + meta + "spec:\n  ports: [{port: " + port + "}]\n"
	}
	tests := []struct {
		name  string
		opts  Options
		files map[string]string
		// want are the ports of the Services loaded, and dups the replaced copies.
		want []int32
		dups []string
	}{
		{"two files", Options{}, map[string]string{"one.yaml": svc("a", "1"), "two.yaml": svc("a", "2")},
			[]int32{2}, []string{"a/Service/s one.yaml:1 kept two.yaml:1"}},
		{"three copies in one file", Options{}, map[string]string{"one.yaml": svc("a", "1") + "---\n" + svc("a", "2") + "---\n" + svc("a", "3")},
			[]int32{3}, []string{"a/Service/s one.yaml:1 kept one.yaml:17", "a/Service/s one.yaml:9 kept one.yaml:17"}},
		{"unset namespace is the default one", Options{}, map[string]string{"one.yaml": svc("", "1") + "---\n" + svc("default", "2")},
			[]int32{2}, []string{"default/Service/s one.yaml:1 kept one.yaml:8"}},
		{"unset namespace is the -n one", Options{Namespace: "team"}, map[string]string{"one.yaml": svc("", "1") + "---\n" + svc("default", "2")},
			[]int32{1, 2}, nil},
		{"other namespaces are other objects", Options{}, map[string]string{"one.yaml": svc("a", "1") + "---\n" + svc("b", "2")},
			[]int32{1, 2}, nil},
		{"a List item and a document", Options{}, map[string]string{
			"one.yaml": "apiVersion: v1\nkind: ServiceList\nitems:\n- metadata: {name: s, namespace: a}\n  spec: {ports: [{port: 1}]}\n",
			"two.yaml": svc("a", "2")},
			[]int32{2}, []string{"a/Service/s one.yaml:4 kept two.yaml:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := write(t, tt.files)
			s := load(t, tt.opts, dir)
			if p := problems(s, dir); p != "" {
				t.Errorf("problems: %s", p)
			}
			var ports []int32
			for _, svc := range s.Services {
				ports = append(ports, svc.Spec.Ports[0].Port)
			}
			slices.Sort(ports)
			if !slices.Equal(ports, tt.want) {
				t.Errorf("services with ports %v, want %v", ports, tt.want)
			}
			var dups []string
			for _, d := range s.Duplicates {
				rel := func(o inventory.Origin) string {
					r, _ := filepath.Rel(dir, o.File)
					return fmt.Sprintf("%s:%d", r, o.Line)
				}
				dups = append(dups, fmt.Sprintf("%s/%s/%s %s kept %s", d.Namespace, d.Kind, d.Name, rel(d.Origin), rel(d.Kept)))
			}
			slices.Sort(dups)
			if !slices.Equal(dups, tt.dups) {
				t.Errorf("duplicates:\n got: %q\nwant: %q", dups, tt.dups)
			}
		})
	}
}

func TestLoadDirectoryWalk(t *testing.T) {
	dir := write(t, map[string]string{
		"a/svc.yml":        "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n",
		"a/notes.txt":      "not: [yaml",
		".hidden/svc.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: hidden\n",
		".redoubt.yaml":    "exceptions: []\n",
		"b/c/svc.json":     `{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "c"}}`,
		"b/c/d/empty.yaml": "# nothing here\n---\n",
		"namespaced.yaml":  "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa\n",
		"clusterwide.yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: cr\n",
	})
	s := load(t, Options{Namespace: "team"}, dir)
	if p := problems(s, dir); p != "" {
		t.Fatalf("unexpected problems:\n%s", p)
	}
	var names []string
	for _, svc := range s.Services {
		names = append(names, svc.Name)
	}
	if got := strings.Join(names, ","); got != "a,c" {
		t.Errorf("services = %s, want a,c (hidden directories and non-manifest files skipped)", got)
	}
	if s.ServiceAccounts[0].Namespace != "team" {
		t.Errorf("namespaced object without a namespace got %q, want the --namespace default", s.ServiceAccounts[0].Namespace)
	}
	if s.ClusterRoles[0].Namespace != "" {
		t.Errorf("cluster-scoped object got namespace %q", s.ClusterRoles[0].Namespace)
	}
}

func TestLoadStdin(t *testing.T) {
	s := load(t, Options{Stdin: strings.NewReader(deployment)}, "-")
	if len(s.Workloads) != 1 || s.Workloads[0].Origin.File != "(stdin)" {
		t.Fatalf("stdin not read: %+v", s.Workloads)
	}
}
