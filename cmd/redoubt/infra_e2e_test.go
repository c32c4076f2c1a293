package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory/node"
	"redoubt.dev/redoubt/internal/testenv"
)

// testPKI is a CA with a client certificate for the API server to present to kubelets and a
// serving certificate for the stand-in kubelet on the machine's non-loopback address.
type testPKI struct {
	dir                           string
	caFile, clientCert, clientKey string
	kubeletServing                tls.Certificate
}

func newTestPKI(t *testing.T, kubeletIP net.IP) *testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kubelet-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, cn string, usage x509.ExtKeyUsage, ips []net.IP) ([]byte, []byte) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn}, IPAddresses: ips,
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{usage},
			KeyUsage: x509.KeyUsageDigitalSignature}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, _ := x509.MarshalECPrivateKey(key)
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	}
	p := &testPKI{dir: dir, caFile: filepath.Join(dir, "kubelet-ca.crt"),
		clientCert: filepath.Join(dir, "apiserver-kubelet-client.crt"), clientKey: filepath.Join(dir, "apiserver-kubelet-client.key")}
	cc, ck := issue(2, "kube-apiserver-kubelet-client", x509.ExtKeyUsageClientAuth, nil)
	sc, sk := issue(3, "kubelet", x509.ExtKeyUsageServerAuth, []net.IP{kubeletIP})
	for path, data := range map[string][]byte{p.caFile: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), p.clientCert: cc, p.clientKey: ck} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p.kubeletServing, err = tls.X509KeyPair(sc, sk)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// nodeIP is an address of this machine that is not loopback: the API server refuses to proxy to
// loopback addresses, so the stand-in kubelet listens here.
func nodeIP(t *testing.T) net.IP {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.To4()
		}
	}
	t.Skip("this machine has no non-loopback IPv4 address for a stand-in kubelet")
	return nil
}

// standInKubelet serves /configz as a kubelet does, with the given KubeletConfiguration. A real
// kubelet cannot run here (no container runtime); everything between Redoubt and this endpoint
// (the API server, its node proxy, its kubelet client certificate and CA) is real.
func standInKubelet(t *testing.T, ip net.IP, cert tls.Certificate, config string) int {
	t.Helper()
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(config), &cfg); err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"kubeletconfig": cfg})
	ln, err := tls.Listen("tcp", net.JoinHostPort(ip.String(), "0"), &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/configz" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// registerNode creates a Node whose kubelet is the stand-in.
func registerNode(t *testing.T, cs kubernetes.Interface, name string, ip net.IP, port int) {
	t.Helper()
	ctx := t.Context()
	n, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip.String()}}
	n.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(port)
	n.Status.NodeInfo.KubeletVersion = "v1.37.2"
	if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// anonymousStatus is what the API server answers a client without credentials.
func anonymousStatus(t *testing.T, c *testenv.Cluster, path string) int {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.CAPEM)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	resp, err := client.Get(c.Server + path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// processesOf finds the PIDs of the cluster's processes: their command lines name its directory.
func processesOf(t *testing.T, c *testenv.Cluster) map[string]int {
	t.Helper()
	out := map[string]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(raw), c.Dir) {
			continue
		}
		args := node.SplitCmdline(raw)
		out[filepath.Base(args[0])] = pid
	}
	if out["kube-apiserver"] == 0 {
		t.Fatalf("no kube-apiserver process of %s in /proc", c.Dir)
	}
	return out
}

// findingsOf runs a redoubt command with --format json and returns its findings.
func findingsOf(t *testing.T, args ...string) []finding.Finding {
	t.Helper()
	code, out, errOut := redoubt(t, "", append(args, "--format", "json")...)
	if code != 0 && code != 1 {
		t.Fatalf("redoubt %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	var doc struct {
		Findings []finding.Finding `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("redoubt %s: %v", strings.Join(args, " "), err)
	}
	return doc.Findings
}

// verdicts lists the checks that failed for one component, skipping not-assessable reports.
func verdicts(fs []finding.Finding, component string) []string {
	var out []string
	for _, f := range fs {
		if f.Evidence["component"] == component && f.Check != "control-plane-not-assessable" {
			out = append(out, f.Check)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func has(fs []finding.Finding, check string) bool {
	return slices.ContainsFunc(fs, func(f finding.Finding) bool { return f.Check == check })
}

// staticPodManifest writes a process's command line as a kubeadm-style static pod manifest.
func staticPodManifest(t *testing.T, dir string, pid int) string {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		t.Fatal(err)
	}
	args := node.SplitCmdline(raw)
	pod := map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": "kube-apiserver", "namespace": "kube-system", "labels": map[string]any{"component": "kube-apiserver"}},
		"spec": map[string]any{"hostNetwork": true, "containers": []any{map[string]any{
			"name": "kube-apiserver", "image": "registry.cluster.internal/kube-apiserver:v1.37.2",
			"command": append([]string{"kube-apiserver"}, args[1:]...),
		}}},
	}
	data, err := yaml.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "kube-apiserver.yaml")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// createStaticPod creates the same command line as a Pod in kube-system through the API, as a
// kubelet's mirror pod would appear (it stays Pending: there is no kubelet).
func createStaticPod(t *testing.T, cs kubernetes.Interface, pid int) {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		t.Fatal(err)
	}
	args := node.SplitCmdline(raw)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "kube-apiserver-cp1", Namespace: "kube-system"},
		Spec: corev1.PodSpec{HostNetwork: true, Containers: []corev1.Container{{Name: "kube-apiserver",
			Image: "registry.cluster.internal/kube-apiserver:v1.37.2", Command: append([]string{"kube-apiserver"}, args[1:]...)}}}}
	// The controller manager creates kube-system's default service account shortly after start.
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := cs.CoreV1().Pods("kube-system").Create(t.Context(), pod, metav1.CreateOptions{})
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

const weakKubelet = `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication: {anonymous: {enabled: true}, webhook: {enabled: false}}
authorization: {mode: AlwaysAllow}
readOnlyPort: 10255
`

const hardenedKubelet = `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication: {anonymous: {enabled: false}, webhook: {enabled: true}, x509: {clientCAFile: /etc/kubernetes/pki/ca.crt}}
authorization: {mode: Webhook}
readOnlyPort: 0
rotateCertificates: true
serverTLSBootstrap: true
`

// TestControlPlaneWeakAndHardened starts the real control plane twice, once with anonymous
// access and weak flags and once hardened, and checks what Redoubt reports from every source:
// the live probe and the kubelet's configz (scan of the cluster), the API server's process
// (node audit reading /proc), the same command line as a static pod manifest file (scan of the
// file), and as a Pod in kube-system (scan of the cluster).
func TestControlPlaneWeakAndHardened(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping a test that runs a real etcd and kube-apiserver")
	}
	ip := nodeIP(t)
	pki := newTestPKI(t, ip)
	policy := filepath.Join(pki.dir, "audit-policy.yaml")
	enc := filepath.Join(pki.dir, "encryption.yaml")
	for p, data := range map[string]string{
		policy: "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n",
		enc:    "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n  providers:\n  - aescbc:\n      keys:\n      - name: k1\n        secret: MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n  - identity: {}\n",
	} {
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		opts    testenv.Options
		kubelet string
		// wantAPIServer are the API server checks that fail, from every source that sees flags.
		wantAPIServer []string
		anonymous     bool
		wantKubelet   []string
	}{
		{
			name: "weak",
			opts: testenv.Options{APIServerFlags: map[string]string{
				"anonymous-auth":           "true",
				"authorization-mode":       "RBAC",
				"enable-admission-plugins": "AlwaysAdmit",
			}},
			kubelet: weakKubelet,
			wantAPIServer: []string{"apiserver-admission-plugins", "apiserver-admission-plugins-recommended", "apiserver-anonymous-auth", "apiserver-audit-log",
				"apiserver-authorization-mode", "apiserver-encryption-provider-config", "apiserver-etcd-tls",
				"apiserver-kubelet-certificate-authority", "apiserver-kubelet-client-certificate", "apiserver-profiling",
				"apiserver-token-auth-file"},
			anonymous:   true,
			wantKubelet: []string{"kubelet-anonymous-auth", "kubelet-authorization-mode", "kubelet-certificate-rotation", "kubelet-client-ca", "kubelet-read-only-port", "kubelet-serving-certificate"},
		},
		{
			name: "hardened",
			opts: testenv.Options{APIServerFlags: map[string]string{
				"anonymous-auth":                "false",
				"authorization-mode":            "Node,RBAC",
				"enable-admission-plugins":      "NodeRestriction",
				"profiling":                     "false",
				"token-auth-file":               "", // removed
				"audit-policy-file":             policy,
				"audit-log-path":                filepath.Join(pki.dir, "audit.log"),
				"audit-log-maxage":              "30",
				"audit-log-maxbackup":           "10",
				"audit-log-maxsize":             "100",
				"encryption-provider-config":    enc,
				"kubelet-certificate-authority": pki.caFile,
				"kubelet-client-certificate":    pki.clientCert,
				"kubelet-client-key":            pki.clientKey,
			}},
			kubelet: hardenedKubelet,
			// testenv's etcd serves plain HTTP on loopback; EventRateLimit and AlwaysPullImages
			// (benchmark recommendations that need an admission configuration and a registry)
			// are left off.
			wantAPIServer: []string{"apiserver-admission-plugins-recommended", "apiserver-etcd-tls"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testenv.ForTest(t, tt.opts)
			cs := kubernetes.NewForConfigOrDie(c.Admin)
			port := standInKubelet(t, ip, pki.kubeletServing, tt.kubelet)
			registerNode(t, cs, "worker-1", ip, port)
			pids := processesOf(t, c)
			api := pids["kube-apiserver"]

			// The API server's process, read from /proc.
			node := findingsOf(t, "node", "audit", "--pid", strconv.Itoa(api), "--manifests", "-", "--kubelet-config", "-", "--node-name", "cp1")
			if got := verdicts(node, "kube-apiserver"); !slices.Equal(got, tt.wantAPIServer) {
				t.Errorf("node audit of process %d:\n got  %v\n want %v", api, got, tt.wantAPIServer)
			}
			if has(node, "control-plane-not-assessable") {
				t.Errorf("node audit could not assess something: %v", node)
			}

			// The same command line as a static pod manifest file.
			dir := t.TempDir()
			staticPodManifest(t, dir, api)
			file := findingsOf(t, "scan", dir)
			want := slices.DeleteFunc(slices.Clone(tt.wantAPIServer), func(s string) bool { return s == "apiserver-encryption-provider" })
			if got := verdicts(file, "kube-apiserver"); !slices.Equal(got, want) {
				t.Errorf("scan of the manifest file:\n got  %v\n want %v", got, want)
			}

			// A grant to anonymous users: a finding either way, and open to anyone only where
			// anonymous authentication is on.
			if _, err := cs.RbacV1().ClusterRoleBindings().Create(t.Context(), &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: "anonymous-view"},
				Subjects:   []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "system:unauthenticated"}},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
			}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			// The authorizer sees the new binding once its informer has: allow it a moment.
			wantStatus := map[bool]int{true: 200, false: 401}[tt.anonymous]
			status := 0
			for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				if status = anonymousStatus(t, c, "/api/v1/namespaces/kube-system/pods"); status == wantStatus {
					break
				}
			}
			if status != wantStatus {
				t.Errorf("anonymous GET of kube-system's pods: %d, want %d", status, wantStatus)
			}

			// The live cluster, with the same command line as a Pod in kube-system.
			createStaticPod(t, cs, api)
			kubeconfig := c.KubeconfigPath
			live := findingsOf(t, "scan", "--kubeconfig", kubeconfig)
			if got := verdicts(live, "kube-apiserver"); !slices.Equal(got, want) {
				t.Errorf("scan of the cluster's kube-apiserver pod:\n got  %v\n want %v", got, want)
			}
			if got := has(live, "apiserver-anonymous-access"); got != tt.anonymous {
				t.Errorf("live probe: apiserver-anonymous-access reported %v, want %v", got, tt.anonymous)
			}
			var kubelet []string
			for _, f := range live {
				if f.Resource.Kind == "Node" && f.Resource.Name == "worker-1" && strings.HasPrefix(f.Check, "kubelet-") {
					kubelet = append(kubelet, f.Check)
				}
				if f.Check == "control-plane-not-assessable" && f.Resource.Name == "worker-1" {
					t.Errorf("the kubelet's configz was not read: %s", f.Message)
				}
			}
			slices.Sort(kubelet)
			if !slices.Equal(kubelet, tt.wantKubelet) {
				t.Errorf("kubelet checks through configz:\n got  %v\n want %v", kubelet, tt.wantKubelet)
			}
			if has(live, "kubernetes-version-unsupported") || has(live, "kubernetes-patch-outdated") || has(live, "kubelet-version-skew") {
				t.Errorf("v1.37.2 with a v1.37.2 kubelet got a version finding")
			}
			// RBAC: the anonymous grant is reported; the API server's own roles and bindings,
			// all present in the live cluster, are recognised as built in and are not.
			var rbacFindings []string
			for _, f := range live {
				if strings.HasPrefix(f.Check, "rbac-") {
					rbacFindings = append(rbacFindings, f.Check+" "+f.Resource.Name)
				}
			}
			if !slices.Equal(rbacFindings, []string{"rbac-anonymous-grant anonymous-view"}) {
				t.Errorf("RBAC findings on the live cluster: %v, want only the anonymous grant", rbacFindings)
			}
		})
	}
}
