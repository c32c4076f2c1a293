package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/apimachinery/pkg/version"
	fakediscovery "k8s.io/client-go/discovery/fake"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	metadatafake "k8s.io/client-go/metadata/fake"
	"k8s.io/client-go/rest"

	"redoubt.dev/redoubt/internal/estate"
	"redoubt.dev/redoubt/internal/inventory/cluster"
	"redoubt.dev/redoubt/internal/inventory/manifest"
	"redoubt.dev/redoubt/internal/store/sqlite"
)

// estateObjects decodes the generated estate into typed objects, as a list from the API server
// would return them.
func estateObjects(b *testing.B, workloads int) []runtime.Object {
	b.Helper()
	dir := b.TempDir()
	if _, err := estate.Write(dir, estate.Options{Workloads: workloads, Namespaces: workloads / 100}); err != nil {
		b.Fatal(err)
	}
	dec := serializer.NewCodecFactory(manifest.Scheme).UniversalDeserializer()
	var objs []runtime.Object
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for i := 0; ; i++ {
			doc, err := r.Read()
			if err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
			if len(bytes.TrimSpace(doc)) == 0 {
				continue
			}
			obj, _, err := dec.Decode(doc, nil, nil)
			if err != nil {
				return fmt.Errorf("%s document %d: %w", p, i, err)
			}
			m := obj.(metav1.Object)
			m.SetUID(types.UID(fmt.Sprintf("uid-%d", len(objs))))
			m.SetResourceVersion("1")
			objs = append(objs, obj)
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	return objs
}

// recorded are clients that answer lists and watches from recorded objects: client-go's fake
// clientsets. Loading 30,000 objects into the real API server takes minutes on this machine, so
// the benchmark feeds the informers this way; everything after the informers is the real code.
func recorded(objs []runtime.Object) (*cluster.Clients, *kubefake.Clientset) {
	cs := kubefake.NewSimpleClientset(objs...)
	cs.Discovery().(*fakediscovery.FakeDiscovery).FakedServerVersion = &version.Info{GitVersion: "v1.37.2"}
	scheme := metadatafake.NewTestScheme()
	_ = metav1.AddMetaToScheme(scheme)
	return &cluster.Clients{Kube: cs, Metadata: metadatafake.NewSimpleMetadataClient(scheme),
		Dynamic: dynamicfake.NewSimpleDynamicClient(runtime.NewScheme())}, cs
}

type benchServer struct {
	*Server
	cancel context.CancelFunc
	done   chan error
}

func startBench(b *testing.B, cl *cluster.Clients, debounce time.Duration) *benchServer {
	b.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), sqlite.FileName))
	if err != nil {
		b.Fatal(err)
	}
	conn := &cluster.Connection{Config: &rest.Config{Host: "https://recorded.invalid"}, Context: "estate", Cluster: "estate", Server: "https://recorded.invalid"}
	s, err := New(Options{Conn: conn, Store: st, clients: cl, Debounce: debounce, ProbeInterval: -1,
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	bs := &benchServer{Server: s, cancel: cancel, done: make(chan error, 1)}
	go func() { bs.done <- s.Run(ctx); st.Close() }()
	return bs
}

func (bs *benchServer) stop(b *testing.B) {
	bs.cancel()
	if err := <-bs.done; err != nil {
		b.Fatal(err)
	}
}

// waitAudits waits until at least n audits are stored.
func (bs *benchServer) waitAudits(b *testing.B, n int64) {
	deadline := time.Now().Add(5 * time.Minute)
	for bs.Stats().Audits < n {
		if time.Now().After(deadline) {
			b.Fatalf("no audit %d after 5 minutes: %+v", n, bs.Stats())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// BenchmarkInitialSyncAndFirstAudit: the 10,000-workload estate (about 30,000 objects) listed by
// the informers, the snapshot built, every analyzer run and the audit stored in SQLite. One op
// is one start of the server until its first audit is stored.
func BenchmarkInitialSyncAndFirstAudit(b *testing.B) {
	objs := estateObjects(b, 10000)
	b.ReportMetric(float64(len(objs)), "objects")
	for range b.N {
		b.StopTimer()
		cl, _ := recorded(objs)
		b.StartTimer()
		bs := startBench(b, cl, 10*time.Millisecond)
		bs.waitAudits(b, 1)
		b.StopTimer()
		cur := bs.Current()
		b.ReportMetric(float64(len(cur.Result.Findings)), "findings")
		b.ReportMetric(float64(len(cur.Snapshot.Workloads)), "workloads")
		reportStages(b, bs.Server)
		bs.stop(b)
		b.StartTimer()
	}
	b.StopTimer()
	reportRSS(b)
}

// BenchmarkOneChangedDeployment: with the estate synced, one Deployment changes; one op is the
// time until the audit that holds the change is stored (a full re-audit: no incremental audit
// exists yet), with a 1 ms debounce so the figure is the work, not the wait.
func BenchmarkOneChangedDeployment(b *testing.B) {
	objs := estateObjects(b, 10000)
	cl, cs := recorded(objs)
	bs := startBench(b, cl, time.Millisecond)
	defer bs.stop(b)
	bs.waitAudits(b, 1)
	var d *appsv1.Deployment
	for _, o := range objs {
		if dep, ok := o.(*appsv1.Deployment); ok {
			d = dep.DeepCopy()
			break
		}
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		want := bs.Stats().Audits + 1
		d.Annotations = map[string]string{"example.com/revision": strconv.Itoa(i)}
		// The recorded clientset keeps resourceVersions as given; the API server bumps them, and
		// the informers' handler ignores an update that keeps its resourceVersion.
		d.ResourceVersion = strconv.Itoa(i + 2)
		if _, err := cs.AppsV1().Deployments(d.Namespace).Update(ctx, d, metav1.UpdateOptions{}); err != nil {
			b.Fatal(err)
		}
		bs.waitAudits(b, want)
	}
	b.StopTimer()
	reportStages(b, bs.Server)
	reportRSS(b)
}

// reportRSS reports the process's peak resident memory (VmHWM), test harness and recorded
// objects included, so it is an upper bound of the server's own.
func reportRSS(b *testing.B) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return
	}
	for l := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			b.ReportMetric(float64(kb)/1024, "peak-RSS-MB")
		}
	}
}

// BenchmarkIdle: with the estate synced and audited, nothing changes for a second; the figure
// is the CPU the whole process spent in that second (no polling loops: it should be near 0).
func BenchmarkIdle(b *testing.B) {
	objs := estateObjects(b, 1000)
	cl, _ := recorded(objs)
	bs := startBench(b, cl, 10*time.Millisecond)
	defer bs.stop(b)
	bs.waitAudits(b, 1)
	goruntime.GC()
	time.Sleep(200 * time.Millisecond) // let the GC's background work after the audit settle
	b.ResetTimer()
	var spent time.Duration
	for range b.N {
		before := cpuTime()
		time.Sleep(time.Second)
		spent += cpuTime() - before
	}
	b.StopTimer()
	b.ReportMetric(float64(spent.Microseconds())/1000/float64(b.N), "cpu-ms/idle-s")
	if got := bs.Stats().Audits; got != 1 {
		b.Fatalf("%d audits while nothing changed, want 1", got)
	}
}

// cpuTime is the user and system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportStages reports the mean time of each audit stage, from the server's own histogram.
func reportStages(b *testing.B, s *Server) {
	mfs, err := s.metrics.registry.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "redoubt_audit_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			h := m.GetHistogram()
			if h.GetSampleCount() == 0 {
				continue
			}
			for _, l := range m.GetLabel() {
				b.ReportMetric(h.GetSampleSum()/float64(h.GetSampleCount())*1000, l.GetValue()+"-ms")
			}
		}
	}
}
