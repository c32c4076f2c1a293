package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"redoubt.dev/redoubt/internal/image/fixture"
	"redoubt.dev/redoubt/internal/testenv"
)

// TestScanClusterPullSecrets runs a live cluster whose Deployment pulls its image from a private
// registry (go-containerregistry's registry behind HTTP basic auth, on loopback) with an image
// pull secret. `redoubt scan --pull` cannot read the image; `--pull-secrets` reads the Secret
// the workload names and scans it.
func TestScanClusterPullSecrets(t *testing.T) {
	c := testenv.ForTest(t)
	const user, pass = "ci", "s3cret"
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	ref := host + "/shop/private:1.0"

	img, err := fixture.Image(fixture.Layer{CreatedBy: "COPY tools /", Files: []fixture.File{
		{Path: "usr", Type: '5'}, {Path: "usr/bin", Type: '5'},
		{Path: "usr/bin/wget", Body: []byte("\x7fELF fake"), Mode: 0o755},
		{Path: "usr/bin/sh", Body: []byte("\x7fELF fake"), Mode: 0o755},
	}})
	if err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag(ref)
	if err := remote.Write(tag, img, remote.WithAuth(&authn.Basic{Username: user, Password: pass})); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	cs := kubernetes.NewForConfigOrDie(c.Admin)
	ns := "private-images"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	auth := fmt.Sprintf(`{"auths":{%q:{"username":%q,"password":%q}}}`, "http://"+host, user, pass)
	if _, err := cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "regcred"}, Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(auth)},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app": "private"}
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "private"},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
				ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}},
				Containers:       []corev1.Container{{Name: "app", Image: ref}},
			}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("REDOUBT_CACHE_DIR", t.TempDir())
	t.Setenv("DOCKER_CONFIG", t.TempDir()) // no credentials from the machine's own Docker config

	checks := func(args ...string) map[string]int {
		t.Helper()
		code, out, errOut := redoubt(t, "", append([]string{"scan", "--kubeconfig", c.KubeconfigPath, "-n", ns, "--format", "json", "--db", t.TempDir()}, args...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var doc imageScanJSON
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatal(err)
		}
		n := map[string]int{}
		for _, f := range doc.Findings {
			if strings.HasPrefix(f.Check, "image-") && f.Resource.Name == "private" {
				n[f.Check]++
			}
		}
		return n
	}
	if n := checks("--pull"); n["image-not-scanned"] != 1 || n["image-has-network-tool"] != 0 {
		t.Errorf("--pull without the pull secret: %v, want the image reported as not scanned", n)
	}
	if n := checks("--pull-secrets"); n["image-has-network-tool"] != 1 || n["image-has-shell"] != 1 || n["image-not-scanned"] != 0 {
		t.Errorf("--pull-secrets: %v, want the image scanned with its credentials", n)
	}
}
