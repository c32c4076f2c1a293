package auditlog

import (
	"bufio"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// writeBenchLog writes n audit events of a busy cluster's mix to path: controllers and nodes
// watching and getting, people listing, Secrets read, a few exec sessions and 401s, from
// thousands of users and addresses. The lines are the size the API server writes at Metadata
// level with its authorization annotations (about 1 KB).
func writeBenchLog(b *testing.B, path string, n int) int64 {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	base := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		ts := base.Add(time.Duration(i) * 5 * time.Millisecond).Format(time.RFC3339Nano)
		ns := fmt.Sprintf("team-%d", i%300)
		user := fmt.Sprintf("system:serviceaccount:%s:app-%d", ns, i%7)
		ip := fmt.Sprintf("10.244.%d.%d", i%250, i%200)
		verb, uri, ref, code := "get", "", "", 200
		switch m := i % 100; {
		case m < 40:
			verb, uri, ref = "watch", "/api/v1/namespaces/"+ns+"/configmaps?watch=true", `{"resource":"configmaps","namespace":"`+ns+`","apiVersion":"v1"}`
		case m < 70:
			user = fmt.Sprintf("system:node:node-%d", i%1000)
			uri, ref = "/api/v1/nodes/node-"+strconv.Itoa(i%1000), `{"resource":"nodes","name":"node-`+strconv.Itoa(i%1000)+`","apiVersion":"v1"}`
		case m < 85:
			user = fmt.Sprintf("user-%d@example.com", i%5000)
			verb, uri, ref = "list", "/apis/apps/v1/namespaces/"+ns+"/deployments?limit=500", `{"resource":"deployments","namespace":"`+ns+`","apiGroup":"apps","apiVersion":"v1"}`
		case m < 95:
			uri, ref = "/api/v1/namespaces/"+ns+"/secrets/db", `{"resource":"secrets","namespace":"`+ns+`","name":"db","apiVersion":"v1"}`
			if i%1000 == 1 {
				user = fmt.Sprintf("user-%d@example.com", i%5000)
			}
		case m < 98:
			code = 401
			user = ""
			ip = fmt.Sprintf("203.0.113.%d", i%50)
			uri, ref = "/api/v1/namespaces", `{"resource":"namespaces","apiVersion":"v1"}`
		default:
			user = fmt.Sprintf("user-%d@example.com", i%5000)
			verb = "create"
			uri = "/api/v1/namespaces/" + ns + "/pods/web-" + strconv.Itoa(i%40) + "/exec?command=sh&container=web"
			ref = `{"resource":"pods","namespace":"` + ns + `","name":"web-` + strconv.Itoa(i%40) + `","subresource":"exec","apiVersion":"v1"}`
			code = 101
		}
		fmt.Fprintf(w, `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"%08x-6a62-4c1e-9d9c-5f2b1f0e7a11","stage":"ResponseComplete",`+
			`"requestURI":%q,"verb":%q,"user":{"username":%q,"uid":"0f3c2a71-54d2-4b7e-9a61-3b8e6f1c2d4a","groups":["system:serviceaccounts","system:serviceaccounts:%s","system:authenticated"],`+
			`"extra":{"authentication.kubernetes.io/credential-id":["JTI=4b8e6f1c-2d4a-0f3c-2a71-54d24b7e9a61"],"authentication.kubernetes.io/node-name":["node-%d"]}},`+
			`"sourceIPs":[%q],"userAgent":"kube-controller/v1.37.2 (linux/amd64) kubernetes/9e3f5d0","objectRef":%s,`+
			`"responseStatus":{"metadata":{},"code":%d},"requestReceivedTimestamp":%q,"stageTimestamp":%q,`+
			`"annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by RoleBinding \"app-reader/%s\" of Role \"app-reader\" to ServiceAccount \"app/%s\""}}`+"\n",
			i, uri, verb, user, ns, i%1000, ip, ref, code, ts, ts, ns, ns)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	info, _ := f.Stat()
	f.Close()
	return info.Size()
}

// benchOptions turn every detection on, the token one included (which needs every
// service-account event decoded), unless REDOUBT_BENCH_NO_CIDR is set.
var benchOptions = func() Options {
	if os.Getenv("REDOUBT_BENCH_NO_CIDR") != "" {
		return Options{}
	}
	return Options{PodCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16")}}
}()

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAnalyzeLog reads and analyses a generated audit log of REDOUBT_BENCH_EVENTS events
// (default 1,000,000, about 1 GB), reporting events/s, MB/s and the peak heap. Run with
// -benchtime 1x: one iteration is the whole log.
func BenchmarkAnalyzeLog(b *testing.B) {
	n := 1_000_000
	if s := os.Getenv("REDOUBT_BENCH_EVENTS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	path := filepath.Join(b.TempDir(), "audit.log")
	size := writeBenchLog(b, path, n)
	runtime.GC()
	b.SetBytes(size)
	b.ResetTimer()
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			if h := s[0].Value.Uint64() + s[1].Value.Uint64(); h > peak.Load() {
				peak.Store(h)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	cpuStart := cpuTime()
	start := time.Now()
	var findings int
	for range b.N {
		in, err := Inputs([]string{path}, nil)
		if err != nil {
			b.Fatal(err)
		}
		r := NewReader(in)
		a := NewAnalyzer(benchOptions)
		r.Filter = a.Wants
		if err := r.Each(context.Background(), func(e *Event) error { a.Observe(e); return nil }); err != nil {
			b.Fatal(err)
		}
		if s := r.Stats(); s.Events+s.Skipped != int64(n) {
			b.Fatalf("read %d events and skipped %d, want %d", s.Events, s.Skipped, n)
		}
		findings = len(a.Findings())
	}
	elapsed := time.Since(start)
	cpu := cpuTime() - cpuStart
	close(stop)
	<-done
	b.ReportMetric(float64(n)*float64(b.N)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(findings), "findings")
	// CPU time is what a loaded machine cannot inflate: on an idle machine with P cores the
	// wall time approaches cpu/P, since decoding runs on every core.
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/pass")
	b.Logf("%d events, %.0f MB, %d findings, %s per pass, %s CPU per pass (%.0f µs CPU per event)",
		n, float64(size)/1e6, findings, elapsed/time.Duration(b.N), cpu/time.Duration(b.N), cpu.Seconds()*1e6/float64(n*b.N))
}
