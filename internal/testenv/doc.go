// Package testenv runs a real Kubernetes control plane on loopback for end-to-end tests: etcd,
// kube-apiserver and kube-controller-manager, built from the Go module proxy by the tools
// modules tools/etcd and tools/k8s, cached outside the repository, and started as separate
// processes with TLS, RBAC and token users. There is no scheduler and no kubelet: Pods are
// created but stay Pending.
//
// A test that needs its own cluster, for instance with particular apiserver flags:
//
//	c := testenv.ForTest(t, testenv.Options{APIServerFlags: map[string]string{"anonymous-auth": "true"}})
//	client := kubernetes.NewForConfigOrDie(c.Admin)
//
// Tests that can share one cluster (about 10 s to start) call Shared, and the package's
// TestMain hands control to Main, which stops the cluster after the last test:
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
//
//	func TestScan(t *testing.T) {
//		c := testenv.Shared(t)
//		// ... create objects in a namespace of the test's own, scan c.KubeconfigPath ...
//	}
//
// Both skip under `go test -short` and when REDOUBT_SKIP_CLUSTER=1; otherwise a cluster that
// cannot be built or started fails the test. The first build takes 5-10 minutes and about
// 3 GB of RAM; run `go run ./cmd/devcluster -build-only` once (or in a CI step before the
// tests) so it does not eat into go test's default 10-minute timeout.
package testenv
