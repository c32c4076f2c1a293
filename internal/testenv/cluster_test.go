package testenv_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"redoubt.dev/redoubt/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func TestSharedCluster(t *testing.T) {
	t.Parallel() // overlaps with the other cluster tests' start
	c := testenv.Shared(t)
	admin := kubernetes.NewForConfigOrDie(c.Admin)

	t.Run("version", func(t *testing.T) {
		v, err := admin.Discovery().ServerVersion()
		if err != nil {
			t.Fatal(err)
		}
		if v.GitVersion != testenv.KubernetesVersion {
			t.Errorf("server version %s, want %s", v.GitVersion, testenv.KubernetesVersion)
		}
	})

	t.Run("deployment makes pods", func(t *testing.T) {
		testDeploymentMakesPods(t, admin)
	})

	t.Run("alice may not list secrets", func(t *testing.T) {
		cfg, err := c.ConfigFor(testenv.AliceUser)
		if err != nil {
			t.Fatal(err)
		}
		alice := kubernetes.NewForConfigOrDie(cfg)
		_, err = alice.CoreV1().Secrets("").List(t.Context(), metav1.ListOptions{})
		if !apierrors.IsForbidden(err) {
			t.Fatalf("alice listing secrets: err = %v, want Forbidden", err)
		}
		// Forbidden, not Unauthorized: the token was accepted, RBAC said no.
		review, err := alice.AuthenticationV1().SelfSubjectReviews().Create(t.Context(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("alice's self-review: %v", err)
		}
		if u := review.Status.UserInfo; u.Username != testenv.AliceUser || len(u.Groups) != 1 || u.Groups[0] != "system:authenticated" {
			t.Errorf("alice's token authenticates as %q in %q, want %q in [system:authenticated]", u.Username, u.Groups, testenv.AliceUser)
		}
	})

	t.Run("kubeconfig files", func(t *testing.T) {
		for _, tt := range []struct {
			name      string
			path      func() (string, error)
			forbidden bool
		}{
			{"admin certificate", func() (string, error) { return c.KubeconfigPath, nil }, false},
			{"admin token", func() (string, error) { return c.Kubeconfig(testenv.AdminUser) }, false},
			{"alice token", func() (string, error) { return c.Kubeconfig(testenv.AliceUser) }, true},
		} {
			t.Run(tt.name, func(t *testing.T) {
				path, err := tt.path()
				if err != nil {
					t.Fatal(err)
				}
				raw, err := clientcmd.LoadFromFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if raw.CurrentContext != testenv.ContextName || raw.Contexts[testenv.ContextName].Cluster != testenv.ContextName {
					t.Errorf("%s: current context %q, want context and cluster %q", path, raw.CurrentContext, testenv.ContextName)
				}
				cfg, err := clientcmd.BuildConfigFromFlags("", path)
				if err != nil {
					t.Fatal(err)
				}
				_, err = kubernetes.NewForConfigOrDie(cfg).CoreV1().Namespaces().List(t.Context(), metav1.ListOptions{})
				if tt.forbidden != apierrors.IsForbidden(err) || (!tt.forbidden && err != nil) {
					t.Errorf("listing namespaces with %s: err = %v, want forbidden %t", path, err, tt.forbidden)
				}
			})
		}
		if _, err := c.Kubeconfig("mallory"); err == nil {
			t.Error("Kubeconfig of an unknown user: no error")
		}
	})

	t.Run("anonymous is unauthorized", func(t *testing.T) {
		for _, path := range []string{"/api", "/version", "/readyz"} {
			if got := anonymousGet(t, c, path); got != http.StatusUnauthorized {
				t.Errorf("anonymous GET %s = %d, want 401 with anonymous-auth=false", path, got)
			}
		}
	})
}

// testDeploymentMakesPods creates a Namespace, a Deployment and a Service and waits for the
// controller manager to create the ReplicaSet and its Pods, which stay Pending.
func testDeploymentMakesPods(t *testing.T, client kubernetes.Interface) {
	ctx := t.Context()
	const ns, app = "testenv-workloads", "web"
	labels := map[string]string{"app": app}
	replicas := int32(2)
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deploy := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: app, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: app, Image: "nginx:1.27", Ports: []corev1.ContainerPort{{ContainerPort: 80}},
				}}},
			},
		},
	}
	if _, err := client.AppsV1().Deployments(ns).Create(ctx, deploy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: app},
		Spec: corev1.ServiceSpec{
			Selector: labels,
			Ports:    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(80)}},
		},
	}
	created, err := client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if created.Spec.ClusterIP == "" {
		t.Error("the Service got no ClusterIP")
	}

	var pods []corev1.Pod
	deadline := time.Now().Add(60 * time.Second)
	for {
		rs, err := client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
		if err != nil {
			t.Fatal(err)
		}
		list, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
		if err != nil {
			t.Fatal(err)
		}
		if len(rs.Items) == 1 && len(list.Items) == 2 {
			if owner := metav1.GetControllerOf(&rs.Items[0]); owner == nil || owner.Kind != "Deployment" || owner.Name != app {
				t.Errorf("ReplicaSet %s is controlled by %v, want Deployment %s", rs.Items[0].Name, owner, app)
			}
			pods = list.Items
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60s: %d ReplicaSets and %d Pods, want 1 and 2", len(rs.Items), len(list.Items))
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, p := range pods {
		if p.Status.Phase != corev1.PodPending {
			t.Errorf("pod %s is %s, want Pending (no scheduler, no kubelet)", p.Name, p.Status.Phase)
		}
		if p.Spec.ServiceAccountName != "default" {
			t.Errorf("pod %s runs as service account %q, want default", p.Name, p.Spec.ServiceAccountName)
		}
	}
}

func TestAnonymousAuthFlag(t *testing.T) {
	t.Parallel()
	c := testenv.ForTest(t, testenv.Options{
		APIServerFlags:      map[string]string{"anonymous-auth": "true"},
		NoControllerManager: true,
	})
	if got := c.APIServerFlags["anonymous-auth"]; got != "true" {
		t.Errorf("effective anonymous-auth = %q, want true", got)
	}
	if c.ControllerManagerFlags != nil {
		t.Errorf("ControllerManagerFlags = %v without a controller manager", c.ControllerManagerFlags)
	}
	for path, want := range map[string]int{
		"/api":     http.StatusForbidden, // authenticated as system:anonymous, which RBAC denies
		"/version": http.StatusOK,        // system:public-info-viewer allows it
		"/readyz":  http.StatusOK,
	} {
		if got := anonymousGet(t, c, path); got != want {
			t.Errorf("anonymous GET %s = %d, want %d", path, got, want)
		}
	}
}

func TestRemovedTokenFile(t *testing.T) {
	t.Parallel()
	c := testenv.ForTest(t, testenv.Options{
		APIServerFlags:      map[string]string{"token-auth-file": ""},
		NoControllerManager: true,
	})
	if _, ok := c.APIServerFlags["token-auth-file"]; ok {
		t.Error("token-auth-file is still among the effective flags")
	}
	if _, err := c.Kubeconfig(testenv.AliceUser); err == nil {
		t.Error("Kubeconfig(alice) without a token file: no error")
	}
	// The admin certificate still works.
	if _, err := kubernetes.NewForConfigOrDie(c.Admin).CoreV1().Namespaces().Get(t.Context(), "default", metav1.GetOptions{}); err != nil {
		t.Errorf("admin get namespace default: %v", err)
	}
}

// anonymousGet GETs a path with no credentials and returns the status code.
func anonymousGet(t *testing.T, c *testenv.Cluster, path string) int {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.CAPEM)
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer transport.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Server+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: transport}).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
