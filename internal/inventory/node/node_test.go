package node

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/infra"
	"redoubt.dev/redoubt/internal/inventory"
)

// helperEnv makes the test binary a stand-in process that only waits: started with the command
// line of a control-plane component, it is a real process whose /proc/PID/cmdline and environ
// hold exactly that command line, which is what the node source reads.
const helperEnv = "REDOUBT_NODE_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		time.Sleep(10 * time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startProcess runs a process named argv[0] with argv[1:] and the given extra environment, and
// stops it when the test ends.
func startProcess(t *testing.T, env []string, argv ...string) int {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Args = argv
	cmd.Env = append(append(os.Environ(), helperEnv+"=1"), env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	// Wait until the kernel shows the new command line (exec has happened).
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", cmd.Process.Pid))
		if err == nil && strings.HasPrefix(string(raw), argv[0]+"\x00") {
			return cmd.Process.Pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("process %d never showed command line %q", cmd.Process.Pid, argv[0])
	return 0
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

const secretKey = "c2VjcmV0LWtleS1tYXRlcmlhbC1uZXZlci1rZXB0IQ=="

func encryptionConfig(first string) string {
	providers := map[string]string{
		"identity": "    - identity: {}\n    - aescbc:\n        keys:\n        - name: key1\n          secret: " + secretKey + "\n",
		"aescbc":   "    - aescbc:\n        keys:\n        - name: key1\n          secret: " + secretKey + "\n    - identity: {}\n",
	}
	return "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources: [secrets]\n    providers:\n" + providers[first]
}

func checks(fs []finding.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Check)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func TestProcesses(t *testing.T) {
	dir := t.TempDir()
	enc := filepath.Join(dir, "enc.yaml")
	write(t, enc, encryptionConfig("identity"))
	kubeletConfig := filepath.Join(dir, "kubelet.yaml")
	write(t, kubeletConfig, "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nauthentication:\n  x509: {clientCAFile: /ca.crt}\nreadOnlyPort: 10255\nrotateCertificates: true\n")

	api := startProcess(t, nil, "/usr/local/bin/kube-apiserver", "--anonymous-auth=false", "--authorization-mode", "Node,RBAC",
		"--encryption-provider-config="+enc, "--profiling=false", "--token-auth-file", "/etc/kubernetes/tokens.csv")
	etcd := startProcess(t, []string{"ETCD_CLIENT_CERT_AUTH=true", "NOT_ETCD=secret-value"}, "etcd", "--data-dir=/var/lib/etcd",
		"--listen-client-urls=https://127.0.0.1:2379", "--cert-file=/etc/etcd/server.crt", "--key-file=/etc/etcd/server.key")
	kubelet := startProcess(t, nil, "/usr/bin/kubelet", "--config", kubeletConfig, "--anonymous-auth=true")

	snap, err := Load(context.Background(), Options{PIDs: []int{api, etcd, kubelet}, ManifestsDir: "-", NodeName: "cp1"})
	if err != nil {
		t.Fatal(err)
	}
	if snap.Source.Kind != inventory.SourceNode || snap.Source.Node != "cp1" {
		t.Errorf("source %+v", snap.Source)
	}
	byName := map[string]*inventory.Component{}
	for _, c := range snap.Components {
		byName[c.Name] = c
	}
	if c := byName["kube-apiserver"]; c == nil || c.PID != api || !slices.Contains(c.Args, "--profiling=false") {
		t.Fatalf("kube-apiserver component %+v", c)
	}
	if c := byName["etcd"]; c == nil || c.Env["ETCD_CLIENT_CERT_AUTH"] != "true" || len(c.Env) != 1 {
		t.Errorf("etcd environment %v: want ETCD_* variables only", c.Env)
	}
	if c := byName["kubelet"]; c == nil || c.Origin.File != kubeletConfig || len(c.Config) == 0 {
		t.Errorf("kubelet component %+v: want its --config file read", c)
	}
	if len(snap.HostFiles) != 1 || !snap.HostFiles[0].Read || snap.HostFiles[0].Path != enc {
		t.Fatalf("host files %+v", snap.HostFiles)
	}
	raw, _ := json.Marshal(snap.HostFiles)
	if strings.Contains(string(raw), secretKey) {
		t.Error("the encryption key reached the snapshot")
	}

	fs := infra.Run(&infra.Context{Snapshot: snap})
	got := checks(fs)
	for _, want := range []string{
		"apiserver-encryption-provider", // identity first
		"apiserver-token-auth-file",     // --token-auth-file given as a separate argument
		"kubelet-anonymous-auth",        // the flag beats the config file
		"kubelet-read-only-port",        // from the config file
	} {
		if !slices.Contains(got, want) {
			t.Errorf("no %s finding; got %v", want, got)
		}
	}
	for _, not := range []string{"apiserver-anonymous-auth", "apiserver-profiling", "apiserver-authorization-mode",
		"etcd-client-cert-auth", "etcd-tls", "kubelet-certificate-rotation", "kubelet-client-ca"} {
		if slices.Contains(got, not) {
			t.Errorf("unexpected %s finding", not)
		}
	}
	for _, f := range fs {
		if f.Check == "apiserver-token-auth-file" && (f.Evidence["pid"] != api || f.Location.Node != "cp1") {
			t.Errorf("finding does not name the process: %+v %+v", f.Evidence, f.Location)
		}
	}
}

func TestStaticPodManifestsAndHostPaths(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	manifests := filepath.Join(dir, "manifests")
	// The container sees /etc/kubernetes/enc, which is the node's /srv/kubernetes/enc.
	write(t, filepath.Join(root, "srv/kubernetes/enc/config.yaml"), encryptionConfig("aescbc"))
	write(t, filepath.Join(manifests, "kube-apiserver.yaml"), `apiVersion: v1
kind: Pod
metadata: {name: kube-apiserver, namespace: kube-system}
spec:
  containers:
    - name: kube-apiserver
      image: registry.cluster.internal/kube-apiserver:v1.37.2
      command: [kube-apiserver, --encryption-provider-config=/etc/kubernetes/enc/config.yaml]
      volumeMounts: [{name: enc, mountPath: /etc/kubernetes/enc, readOnly: true}]
  volumes: [{name: enc, hostPath: {path: /srv/kubernetes/enc}}]
`)
	write(t, filepath.Join(manifests, "README"), "not a manifest\n")
	snap, err := Load(context.Background(), Options{Proc: "-", ManifestsDir: manifests, Root: root, KubeletConfig: "-", NodeName: "cp1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.HostFiles) != 1 || snap.HostFiles[0].Path != "/srv/kubernetes/enc/config.yaml" || !snap.HostFiles[0].Read {
		t.Fatalf("host files %+v", snap.HostFiles)
	}
	got := checks(infra.Run(&infra.Context{Snapshot: snap}))
	if slices.Contains(got, "apiserver-encryption-provider") || slices.Contains(got, "control-plane-not-assessable") {
		t.Errorf("aescbc first is a real provider; got %v", got)
	}
	if !slices.Contains(got, "apiserver-anonymous-auth") {
		t.Errorf("the static pod's defaults were not judged: %v", got)
	}
}

func TestNothingFound(t *testing.T) {
	snap, err := Load(context.Background(), Options{Proc: t.TempDir(), ManifestsDir: "-", KubeletConfig: "-", NodeName: "w1"})
	if err != nil {
		t.Fatal(err)
	}
	fs := infra.Run(&infra.Context{Snapshot: snap})
	if got := checks(fs); !slices.Equal(got, []string{"control-plane-not-assessable"}) {
		t.Errorf("an empty node: %v, want one control-plane-not-assessable", got)
	}
}

func TestKubeletConfigMissing(t *testing.T) {
	kubelet := startProcess(t, nil, "kubelet", "--config=/nonexistent/kubelet.yaml")
	snap, err := Load(context.Background(), Options{PIDs: []int{kubelet}, ManifestsDir: "-", NodeName: "w1"})
	if err != nil {
		t.Fatal(err)
	}
	fs := infra.Run(&infra.Context{Snapshot: snap})
	if got := checks(fs); !slices.Equal(got, []string{"control-plane-not-assessable"}) {
		t.Errorf("a kubelet whose config cannot be read: %v, want not assessable only", got)
	}
	if !strings.Contains(fs[0].Message, "/nonexistent/kubelet.yaml") {
		t.Errorf("message %q does not name the file", fs[0].Message)
	}
}

func TestSplitCmdline(t *testing.T) {
	tests := map[string][]string{
		"":                        nil,
		"etcd\x00":                {"etcd"},
		"a\x00--x=1\x00\x00y\x00": {"a", "--x=1", "", "y"},
	}
	for in, want := range tests {
		if got := SplitCmdline([]byte(in)); !slices.Equal(got, want) {
			t.Errorf("SplitCmdline(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzEncryptionProviders(f *testing.F) {
	f.Add([]byte(encryptionConfig("identity")))
	f.Add([]byte("kind: EncryptionConfiguration\nresources: [{resources: [secrets], providers: [{kms: {apiVersion: v2, name: k}}]}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := EncryptionProviders(data)
		if err != nil {
			return
		}
		raw, _ := json.Marshal(res)
		if strings.Contains(string(raw), secretKey) {
			t.Fatal("a key reached the result")
		}
	})
}
