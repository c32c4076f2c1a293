package manifest

import (
	"context"
	"os"
	"path/filepath"
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

func TestLoadDuplicateObjects(t *testing.T) {
	svc := "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  namespace: a\n"
	dir := write(t, map[string]string{"one.yaml": svc, "two.yaml": svc})
	s := load(t, Options{}, dir)
	if len(s.Services) != 1 {
		t.Fatalf("%d services, want the first copy only", len(s.Services))
	}
	want := `two.yaml:1: Service "s": duplicate object: already defined at ` + filepath.Join(dir, "one.yaml") + ":1; this copy is ignored"
	if got := problems(s, dir); got != want {
		t.Errorf("problems:\n got: %s\nwant: %s", got, want)
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
