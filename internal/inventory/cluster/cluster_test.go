package cluster

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"redoubt.dev/redoubt/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func ptr[T any](v T) *T { return &v }

// deployment is a Deployment whose pods the controller manager creates (they stay Pending:
// the test cluster has no scheduler or kubelet).
func deployment(ns, name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1"}}},
			},
		},
	}
}

func TestLoadLiveCluster(t *testing.T) {
	c := testenv.Shared(t)
	ctx := context.Background()
	cs := kubernetes.NewForConfigOrDie(c.Admin)
	ns := "load-live"
	mustCreate(t, func() error {
		_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		return err
	})
	mustCreate(t, func() error {
		_, err := cs.AppsV1().Deployments(ns).Create(ctx, deployment(ns, "web", 2), metav1.CreateOptions{})
		return err
	})
	mustCreate(t, func() error {
		_, err := cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds"},
			StringData: map[string]string{"password": "do-not-read-me"}}, metav1.CreateOptions{})
		return err
	})
	mustCreate(t, func() error {
		_, err := cs.CoreV1().Services(ns).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{})
		return err
	})
	// Wait for the controller manager to make the ReplicaSet and its two Pods.
	waitFor(t, "pods of web", func() (bool, error) {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		return err == nil && len(pods.Items) == 2, err
	})

	conn, err := Connect(Target{Kubeconfig: c.KubeconfigPath})
	if err != nil {
		t.Fatal(err)
	}
	if conn.Context != testenv.ContextName || conn.Cluster != testenv.ContextName || conn.Server != c.Server {
		t.Errorf("connection = %+v", conn)
	}
	s, err := Load(ctx, conn, Options{Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range s.Problems {
		t.Errorf("problem: %v", p)
	}
	if s.Source.ServerVersion != "v1.37.2" || s.Source.Namespace != ns || s.Source.Kind != "cluster" {
		t.Errorf("source = %+v", s.Source)
	}
	// The ReplicaSet and the Pods roll up into the Deployment: one workload.
	if len(s.Workloads) != 1 {
		t.Fatalf("workloads: %d, want the Deployment alone", len(s.Workloads))
	}
	w := s.Workloads[0]
	if w.Key() != ns+"/Deployment/web" || len(w.Pods) != 2 || w.Origin.UID == "" || w.Origin.Cluster != testenv.ContextName {
		t.Errorf("workload %s with %d pods, origin %+v", w.Key(), len(w.Pods), w.Origin)
	}
	if len(w.Services) != 1 {
		t.Errorf("the Service does not select the live Deployment")
	}
	// Secrets are read as metadata: the name, never the value.
	if len(s.Secrets) != 1 || s.Secrets[0].Name != "creds" {
		t.Fatalf("secrets: %+v", s.Secrets)
	}
	if strings.Contains(fmt.Sprintf("%+v", *s.Secrets[0]), "do-not-read-me") {
		t.Errorf("a secret value reached the snapshot")
	}
	// A namespaced scan reads only its namespace, but all cluster RBAC.
	if len(s.Namespaces) != 1 || s.Namespaces[0].Name != ns {
		t.Errorf("namespaces: %d", len(s.Namespaces))
	}
	if len(s.ClusterRoles) == 0 {
		t.Errorf("cluster roles are needed to resolve role bindings, even in a namespaced scan")
	}
}

// A cluster bigger than a page is read whole, page by page.
func TestLoadPaginates(t *testing.T) {
	c := testenv.Shared(t)
	ctx := context.Background()
	cs := kubernetes.NewForConfigOrDie(c.Admin)
	ns := "paged"
	mustCreate(t, func() error {
		_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		return err
	})
	const n = 130
	for i := range n {
		mustCreate(t, func() error {
			_, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("sa-%03d", i)}}, metav1.CreateOptions{})
			return err
		})
	}
	conn, err := Connect(Target{Kubeconfig: c.KubeconfigPath})
	if err != nil {
		t.Fatal(err)
	}
	var continued atomic.Int32
	conn.Config.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripper(func(r *http.Request) (*http.Response, error) {
			if strings.Contains(r.URL.Path, "/serviceaccounts") && r.URL.Query().Get("continue") != "" {
				continued.Add(1)
			}
			return rt.RoundTrip(r)
		})
	}
	s, err := Load(ctx, conn, Options{Namespace: ns, PageSize: 50})
	if err != nil {
		t.Fatal(err)
	}
	// 130 created plus the namespace's "default" account, when the controller has made it.
	if got := len(s.ServiceAccounts); got < n {
		t.Errorf("read %d service accounts, want at least %d", got, n)
	}
	if continued.Load() < 2 {
		t.Errorf("%d continuation requests for 130 objects at 50 a page", continued.Load())
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestLoadErrorsNameContextServerAndStatus(t *testing.T) {
	c := testenv.Shared(t)
	ctx := context.Background()

	// An unknown token: 401 on the first request, one line, no stack.
	bad := writeKubeconfig(t, c.Server, c.CAPEM, "not-a-token")
	conn, err := Connect(Target{Kubeconfig: bad})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Load(ctx, conn, Options{})
	if err == nil || !strings.Contains(err.Error(), `cluster context "bad" (`+c.Server+`)`) || !strings.Contains(err.Error(), "HTTP 401") ||
		strings.Contains(err.Error(), "\n") {
		t.Errorf("bad credentials: %v", err)
	}

	// Alice may not list much: the forbidden kinds are problems naming the status; the rest loads.
	alice, err := c.Kubeconfig(testenv.AliceUser)
	if err != nil {
		t.Fatal(err)
	}
	conn, err = Connect(Target{Kubeconfig: alice})
	if err != nil {
		t.Fatal(err)
	}
	s, err := Load(ctx, conn, Options{})
	if err != nil {
		t.Fatalf("a user who can reach the server but list little should still get a snapshot: %v", err)
	}
	if len(s.Problems) == 0 || !strings.Contains(s.Problems[0].Message, "HTTP 403 Forbidden") {
		t.Errorf("problems: %+v", s.Problems)
	}

	// Nothing listening: a connection error naming the server.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	conn, err = Connect(Target{Kubeconfig: writeKubeconfig(t, "https://"+addr, c.CAPEM, "x")})
	if err != nil {
		t.Fatal(err)
	}
	conn.Config.Timeout = 5 * time.Second
	_, err = Load(ctx, conn, Options{})
	if err == nil || !strings.Contains(err.Error(), "https://"+addr) || !strings.Contains(err.Error(), "cannot connect") {
		t.Errorf("closed port: %v", err)
	}

	// A context the kubeconfig does not have.
	if _, err := Connect(Target{Kubeconfig: c.KubeconfigPath, Context: "nope"}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown context: %v", err)
	}
}

func writeKubeconfig(t *testing.T, server string, ca []byte, token string) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["bad"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	cfg.AuthInfos["bad"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["bad"] = &clientcmdapi.Context{Cluster: "bad", AuthInfo: "bad"}
	cfg.CurrentContext = "bad"
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, p); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustCreate(t *testing.T, create func() error) {
	t.Helper()
	if err := create(); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 60*time.Second, true,
		func(context.Context) (bool, error) {
			ok, _ := cond()
			return ok, nil
		})
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}
