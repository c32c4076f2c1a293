package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"redoubt.dev/redoubt/internal/testenv"
)

// TestEventsIngestMapsPodsToWorkloads gives a Falco alert about a real pod of a real Deployment
// (made by the controller manager) and expects the finding on the Deployment.
func TestEventsIngestMapsPodsToWorkloads(t *testing.T) {
	c := testenv.Shared(t)
	ctx := context.Background()
	cs := kubernetes.NewForConfigOrDie(c.Admin)
	ns := "events-map"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	one := int32(1)
	labels := map[string]string{"app": "web"}
	_, err := cs.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27"}}}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var pod string
	deadline := time.Now().Add(60 * time.Second)
	for pod == "" {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err == nil && len(pods.Items) == 1 {
			pod = pods.Items[0].Name
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the controller manager made no pod for the Deployment")
		}
		time.Sleep(200 * time.Millisecond)
	}
	alert := fmt.Sprintf(`{"hostname":"node-1","output":"Notice A shell was spawned in a container with an attached terminal","output_fields":{"container.id":"bfd6d5a1e5e7","container.name":"web","k8s.ns.name":%q,"k8s.pod.name":%q,"proc.cmdline":"sh","user.name":"root"},"priority":"Notice","rule":"Terminal shell in container","source":"syscall","tags":["T1059"],"time":"2026-12-01T10:56:16.593541393Z"}`, ns, pod)
	file := filepath.Join(t.TempDir(), "falco.json")
	if err := os.WriteFile(file, []byte(alert+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := redoubt(t, "", "events", "ingest", "--falco", file, "--map-cluster", "--kubeconfig", c.KubeconfigPath, "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, `"kind": "Deployment"`) || !strings.Contains(out, `"name": "web"`) || strings.Contains(out, `"name": "`+pod+`"`) {
		t.Errorf("the alert about pod %s is not on Deployment web:\n%s", pod, out)
	}
}
