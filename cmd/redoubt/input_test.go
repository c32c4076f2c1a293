package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// badInputs are inputs every command that reads manifests must refuse with exit 2 and a
// message naming the path at fault.
func badInputs(t *testing.T) map[string]string {
	t.Helper()
	malformed := t.TempDir()
	if err := os.WriteFile(filepath.Join(malformed, "broken.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels: [a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"missing":   "/nonexistent/redoubt-manifests",
		"malformed": malformed,
	}
}

func TestAccessRefusesUnreadableInput(t *testing.T) {
	for name, path := range badInputs(t) {
		for _, args := range [][]string{
			{"access", "who-can", "get", "secrets", "--", path},
			{"access", "who-can", "get", "secrets", path},
			{"access", "can", "sa:monitoring/log-shipper", "--", path},
			{"access", "can", "sa:monitoring/log-shipper", path},
		} {
			t.Run(name+"/"+strings.Join(args[:2], " "), func(t *testing.T) {
				code, _, errOut := redoubt(t, "", args...)
				if code != exitInput || !strings.Contains(errOut, path) {
					t.Errorf("%v: exit %d, stderr %q; want exit %d naming %s", args, code, errOut, exitInput, path)
				}
			})
		}
	}
}

func TestAccessTakesPathsLikeEveryCommand(t *testing.T) {
	// Paths without --, paths with --, flags after --, and -f: the same answer.
	_, want, _ := redoubt(t, "", "access", "who-can", "get", "secrets", "-n", "shop-data", "--format", "json", "--", example)
	if !json.Valid([]byte(want)) {
		t.Fatalf("who-can --format json is not JSON:\n%s", want)
	}
	for _, args := range [][]string{
		{"access", "who-can", "get", "secrets", example, "-n", "shop-data", "--format", "json"},
		{"access", "who-can", "get", "secrets", "-n", "shop-data", "--", example, "--format", "json"},
		{"access", "who-can", "get", "secrets", "-n", "shop-data", "--format", "json", "-f", example},
	} {
		code, out, errOut := redoubt(t, "", args...)
		if code != 0 || out != want {
			t.Errorf("%v: exit %d (%s), output differs from the one with -- before the path:\n%s", args, code, errOut, out)
		}
	}
	// A NAME before the paths is still a name.
	code, out, errOut := redoubt(t, "", "access", "who-can", "get", "secrets", "db-credentials", "-n", "shop-data", example)
	if code != 0 || !strings.Contains(out, "log-shipper") {
		t.Errorf("who-can get secrets NAME PATH: exit %d (%s):\n%s", code, errOut, out)
	}
	_, want, _ = redoubt(t, "", "access", "can", "sa:monitoring/log-shipper", "--", example)
	code, out, errOut = redoubt(t, "", "access", "can", "sa:monitoring/log-shipper", example)
	if code != 0 || out != want {
		t.Errorf("can SUBJECT PATH: exit %d (%s):\n%s", code, errOut, out)
	}
}

func TestAccessNamespaceSlashNameIsAServiceAccount(t *testing.T) {
	_, want, _ := redoubt(t, "", "access", "can", "sa:monitoring/log-shipper", example)
	code, out, errOut := redoubt(t, "", "access", "can", "monitoring/log-shipper", example)
	if code != 0 || out != want {
		t.Errorf("can monitoring/log-shipper: exit %d (%s), want the answer for sa:monitoring/log-shipper:\n%s", code, errOut, out)
	}
	if strings.Contains(out, "capabilities: none") {
		t.Errorf("log-shipper is bound to cluster-admin, yet:\n%s", out)
	}
}

func TestAccessLiveHintNamesTheCommand(t *testing.T) {
	code, _, errOut := redoubt(t, "", "access", "who-can", "get", "secrets", "--kubeconfig", "/nonexistent/kubeconfig")
	if code != exitInput || !strings.Contains(errOut, "redoubt access who-can VERB RESOURCE PATH...") {
		t.Errorf("exit %d, stderr %q: want exit 2 and a hint that spells the whole command", code, errOut)
	}
}

func TestEmptyInputIsAnError(t *testing.T) {
	empty := t.TempDir()
	noObjects := t.TempDir()
	if err := os.WriteFile(filepath.Join(noObjects, "README.md"), []byte("# not manifests\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(noObjects, "empty.yaml"), []byte("# nothing here\n---\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	commands := [][]string{
		{"scan", "--skip-images"}, {"inventory"}, {"risk", "--skip-images"},
		{"netpol", "list"}, {"netpol", "exposure"}, {"access", "who-can", "get", "secrets"},
	}
	for _, dir := range []string{empty, noObjects} {
		for _, c := range commands {
			args := append(append([]string(nil), c...), dir)
			code, _, errOut := redoubt(t, "", args...)
			if code != exitInput || !strings.Contains(errOut, "no Kubernetes objects") || !strings.Contains(errOut, dir) {
				t.Errorf("%v: exit %d, stderr %q; want exit 2 saying no Kubernetes objects were found in %s", args, code, errOut, dir)
			}
			code, _, errOut = redoubt(t, "", append(args, "--allow-empty")...)
			if code != 0 || !strings.Contains(errOut, "warning: no Kubernetes objects") {
				t.Errorf("%v --allow-empty: exit %d, stderr %q; want exit 0 and a warning", args, code, errOut)
			}
		}
	}
}

func TestOneSpellingPerFlag(t *testing.T) {
	// -f and --filename take manifests, as with kubectl; --values keeps the Helm values.
	_, want, _ := redoubt(t, "", "scan", example, "--skip-images", "--format", "json")
	for _, args := range [][]string{
		{"scan", "-f", example, "--skip-images", "--format", "json"},
		{"scan", "--filename", example, "--skip-images", "--format", "json"},
	} {
		code, out, errOut := redoubt(t, "", args...)
		if code != 0 || out != want {
			t.Errorf("%v: exit %d (%s), want the report of scan PATH", args, code, errOut)
		}
	}
	// --db-dir everywhere; --db still works but is no longer shown.
	db := t.TempDir()
	for _, flag := range []string{"--db-dir", "--db"} {
		code, _, errOut := redoubt(t, "", "scan", example, "--format", "json", flag, db, "--images", t.TempDir())
		if code == exitInput && strings.Contains(errOut, "unknown flag") {
			t.Errorf("scan %s: %s", flag, errOut)
		}
	}
	for _, c := range [][]string{{"scan", "--help"}, {"image", "scan", "--help"}, {"risk", "--help"}} {
		_, help, _ := redoubt(t, "", c...)
		if !strings.Contains(help, "--db-dir") || strings.Contains(help, "--db ") {
			t.Errorf("%v: want --db-dir shown and --db hidden:\n%s", c, help)
		}
		if !strings.Contains(help, "-f, --filename") && c[0] != "image" {
			t.Errorf("%v: -f is not --filename:\n%s", c, help)
		}
	}
	// table is the text format's name everywhere; txt still works.
	_, want, _ = redoubt(t, "", "netpol", "list", example, "--format", "txt")
	code, out, errOut := redoubt(t, "", "netpol", "list", example, "--format", "table")
	if code != 0 || out != want {
		t.Errorf("netpol list --format table: exit %d (%s)", code, errOut)
	}
	_, help, _ := redoubt(t, "", "netpol", "list", "--help")
	if strings.Contains(help, "txt") {
		t.Errorf("netpol list --help still offers txt:\n%s", help)
	}
}

// -f used to name Helm values on scan: a values file given with -f now says what to type.
func TestFilenameGivenAValuesFileSaysValues(t *testing.T) {
	values := filepath.Join(t.TempDir(), "values-prod.yaml")
	if err := os.WriteFile(values, []byte("replicas: 3\nimage:\n  tag: \"1.2\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := redoubt(t, "", "scan", example+"/charts/cache", "-f", values, "--skip-images")
	if code != exitInput || !strings.Contains(errOut, "--values "+values) {
		t.Errorf("exit %d, stderr %q: want exit 2 and the hint to use --values", code, errOut)
	}
}

// inventory and scan read a container-level seccomp profile alike.
func TestInventorySeccompAgreesWithScan(t *testing.T) {
	dir := t.TempDir()
	manifest := `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        securityContext:
          seccompProfile: {type: RuntimeDefault}
`
	if err := os.WriteFile(filepath.Join(dir, "web.yaml"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	_, out, _ := redoubt(t, "", "inventory", dir, "--format", "table")
	if !strings.Contains(out, "seccomp RuntimeDefault") {
		t.Errorf("inventory does not see the container's RuntimeDefault profile:\n%s", out)
	}
	_, out, _ = redoubt(t, "", "scan", dir, "--skip-images", "--format", "json")
	if strings.Contains(out, "seccomp-profile-missing") {
		t.Errorf("scan reports the profile missing:\n%s", out)
	}
}
