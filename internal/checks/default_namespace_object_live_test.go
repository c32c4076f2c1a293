package checks

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"redoubt.dev/redoubt/internal/inventory/cluster"
	"redoubt.dev/redoubt/internal/testenv"
)

// A real cluster keeps objects of its own in default (the kubernetes Service, the default
// ServiceAccount, the kube-root-ca.crt ConfigMap): only what a user created there is reported.
// A cluster of its own, since the test writes to default.
func TestDefaultNamespaceObjectLive(t *testing.T) {
	c := testenv.ForTest(t)
	ctx := context.Background()
	cs := kubernetes.NewForConfigOrDie(c.Admin)
	// The controller manager creates the default ServiceAccount and kube-root-ca.crt shortly
	// after start; wait for both, or the test would prove nothing about them.
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, errSA := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		_, errCM := cs.CoreV1().ConfigMaps("default").Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
		_, errSvc := cs.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{})
		return errSA == nil && errCM == nil && errSvc == nil, nil
	})
	if err != nil {
		t.Fatalf("the cluster's own objects in default did not appear: %v", err)
	}
	if _, err := cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings"},
		Data: map[string]string{"mode": "fast"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	conn, err := cluster.Connect(cluster.Target{Kubeconfig: c.KubeconfigPath})
	if err != nil {
		t.Fatal(err)
	}
	s, err := cluster.Load(ctx, conn, cluster.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range s.Problems {
		t.Errorf("live load: %v", p)
	}
	var got []string
	for _, f := range Run(&Context{Snapshot: s}) {
		if f.Check != "default-namespace-object" {
			continue
		}
		if f.Location.UID == "" {
			t.Errorf("live finding %q names no UID", f.Message)
		}
		got = append(got, f.Resource.String()+": "+f.Message)
	}
	equal(t, got, []string{testenv.ContextName + `:default/ConfigMap/settings: ConfigMap "settings" is in the default namespace`})
}
