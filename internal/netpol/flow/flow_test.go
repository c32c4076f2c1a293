package flow

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"
)

func TestHubble(t *testing.T) {
	res, err := ReadFile("testdata/hubble.json", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Format != Hubble || len(res.Flows) != 3 || res.Skipped != 2 {
		t.Fatalf("format %s, %d flows, %d skipped; want hubble, 3 flows, 2 skipped (a reply and a node status)", res.Format, len(res.Flows), res.Skipped)
	}
	f := res.Flows[0]
	if f.Src.IP != netip.MustParseAddr("10.244.1.10") || f.Dst.IP != netip.MustParseAddr("10.244.2.20") || f.Protocol != "TCP" ||
		f.DstPort != 8080 || f.SrcPort != 43210 || f.Verdict != "FORWARDED" || f.Src.Workload != "web" || f.Src.Kind != "Deployment" ||
		f.Src.Namespace != "shop-web" || f.Dst.Labels["app.kubernetes.io/name"] != "api" || f.Origin != "testdata/hubble.json:1" ||
		f.Time.Nanosecond() != 123456789 {
		t.Errorf("first flow misread: %+v", f)
	}
	if f := res.Flows[1]; f.Protocol != "UDP" || f.DstPort != 53 || f.Verdict != "DROPPED" || f.Dst.Reserved != "world" {
		t.Errorf("dropped UDP flow misread: %+v", f)
	}
	if f := res.Flows[2]; f.Protocol != "ICMP" || f.DstPort != 0 || f.Dst.IP.String() != "8.8.8.8" {
		t.Errorf("bare ICMP flow misread: %+v", f)
	}
	want := []string{
		`testdata/hubble.json:6: time "yesterday": not RFC 3339`,
		`testdata/hubble.json:7: ports 0 -> 70000: out of range`,
		`testdata/hubble.json:8: not a JSON object: invalid character 'o' in literal null (expecting 'u')`,
	}
	if strings.Join(res.Problems, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(res.Problems, "\n"), strings.Join(want, "\n"))
	}
}

func TestSimpleFormats(t *testing.T) {
	jsonLines := `{"time":"2026-11-20T10:00:00Z","src":"10.0.0.1","srcPort":40000,"dst":"10.0.0.2","dstPort":5432,"protocol":"tcp","bytes":1200}
{"src":"10.0.0.1","dst":"10.0.0.3","dstPort":53,"protocol":"UDP","srcWorkload":"shop-web/web"}
{"srcWorkload":"shop-web/Deployment/web","dstWorkload":"shop-api/api","dstPort":8080}
{"src":"10.0.0.1","dst":"10.0.0.3","protocol":"UDP"}
{"src":"10.0.0.1","dst":"300.0.0.3","dstPort":1}
{"src":"10.0.0.1","dst":"10.0.0.3","dstPort":1,"colour":"blue"}
{"src":"10.0.0.1","dstPort":1}
`
	array := `[{"src":"10.0.0.1","dst":"10.0.0.2","dstPort":5432},{"src":"10.0.0.1","dst":"10.0.0.2","protocol":"ICMP"}]`
	csvText := "time,src,src_port,dst,dst_port,protocol,bytes\n2026-11-20T10:00:00Z,10.0.0.1,40000,10.0.0.2,5432,TCP,1200\n,10.0.0.1,,10.0.0.3,53,udp,\n,10.0.0.1,,10.0.0.3,0,tcp,\n,10.0.0.1,,10.0.0.3\n"
	cases := []struct {
		name, text string
		format     Format
		flows      int
		problems   []string
	}{
		{"json lines", jsonLines, SimpleJSON, 3, []string{
			"f:4: dstPort: required for TCP, UDP and SCTP",
			`f:5: dst "300.0.0.3": not an IP address`,
			`f:6: unknown field "colour"`,
			"f:7: dst: give an IP address or dstWorkload",
		}},
		{"json array", array, SimpleJSON, 2, nil},
		{"csv", csvText, SimpleCSV, 2, []string{
			`f:4: dstPort "0": want a port number from 1 to 65535`,
			"f:5: 4 fields, the header has 7",
		}},
		{"csv with an unknown column", "src,dst,colour\n", SimpleCSV, 0, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Read(strings.NewReader(tc.text), "f", Limits{})
			if tc.name == "csv with an unknown column" {
				if err == nil || !strings.Contains(err.Error(), `unknown column "colour"`) {
					t.Fatalf("want an error naming the column, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Format != tc.format || len(res.Flows) != tc.flows {
				t.Fatalf("format %s with %d flows, want %s with %d (problems %v)", res.Format, len(res.Flows), tc.format, tc.flows, res.Problems)
			}
			if strings.Join(res.Problems, "\n") != strings.Join(tc.problems, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(res.Problems, "\n"), strings.Join(tc.problems, "\n"))
			}
		})
	}
	res, _ := Read(strings.NewReader(jsonLines), "f", Limits{})
	if f := res.Flows[0]; f.Protocol != "TCP" || f.Bytes != 1200 || f.DstPort != 5432 || f.Time.IsZero() {
		t.Errorf("first flow misread: %+v", f)
	}
	if f := res.Flows[2]; f.Src.Kind != "Deployment" || f.Src.Workload != "web" || f.Dst.Namespace != "shop-api" || f.Protocol != "TCP" {
		t.Errorf("workload-only flow misread: %+v", f)
	}
}

func TestLimits(t *testing.T) {
	var big bytes.Buffer
	for i := range 1000 {
		fmt.Fprintf(&big, `{"src":"10.0.0.1","dst":"10.0.0.2","dstPort":%d}`+"\n", i%60000+1)
	}
	if _, err := Read(bytes.NewReader(big.Bytes()), "big", Limits{MaxBytes: 4096}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("file over the size limit: got %v", err)
	}
	if _, err := Read(bytes.NewReader(big.Bytes()), "many", Limits{MaxFlows: 10}); err == nil || !strings.Contains(err.Error(), "more than 10 flows") {
		t.Errorf("file over the flow limit: got %v", err)
	}
	// A gzip bomb: a small file that decompresses past the limit.
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(bytes.Repeat([]byte(" "), 8<<20))
	w.Write([]byte(`{"src":"10.0.0.1","dst":"10.0.0.2","dstPort":1}`))
	w.Close()
	if gz.Len() > 64<<10 {
		t.Fatalf("bomb is %d bytes", gz.Len())
	}
	if _, err := Read(bytes.NewReader(gz.Bytes()), "bomb.gz", Limits{MaxBytes: 1 << 20}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("gzip bomb: got %v", err)
	}
	if res, err := Read(bytes.NewReader(gz.Bytes()), "ok.gz", Limits{}); err != nil || len(res.Flows) != 1 {
		t.Errorf("gzip file within the limit: %v", err)
	}
	long := `{"src":"10.0.0.1","dst":"10.0.0.2","dstPort":1,"protocol":"` + strings.Repeat("x", 5000) + `"}` + "\n" + `{"src":"10.0.0.1","dst":"10.0.0.2","dstPort":2}` + "\n"
	res, err := Read(strings.NewReader(long), "long", Limits{MaxLine: 1000})
	if err != nil || len(res.Flows) != 1 || len(res.Problems) != 1 || !strings.Contains(res.Problems[0], "longer than 1000 bytes") {
		t.Errorf("overlong line: %v %+v", err, res)
	}
	var many strings.Builder
	for range 80 {
		many.WriteString("{}\n")
	}
	res, _ = Read(strings.NewReader(many.String()), "bad", Limits{MaxProblems: 5})
	if len(res.Problems) != 5 || res.Dropped != 75 {
		t.Errorf("problem cap: %d problems, %d dropped", len(res.Problems), res.Dropped)
	}
}

func TestMissingFile(t *testing.T) {
	_, err := ReadFile("testdata/nope.json", Limits{})
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "testdata/nope.json") {
		t.Errorf("got %v", err)
	}
}

func FuzzRead(f *testing.F) {
	for _, p := range []string{"testdata/hubble.json"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`[{"src":"10.0.0.1","dst":"10.0.0.2","dstPort":5432}]`))
	f.Add([]byte("src,dst,dst_port,protocol\n10.0.0.1,10.0.0.2,80,TCP\n"))
	f.Add([]byte(`{"src":"::1","dst":"::ffff:10.0.0.1","dstPort":1,"srcWorkload":"a/b/c"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := Limits{MaxBytes: 1 << 20, MaxLine: 4096, MaxFlows: 1000, MaxProblems: 10}
		res, err := Read(bytes.NewReader(data), "fuzz", lim)
		if err != nil {
			return
		}
		if len(res.Flows) > lim.MaxFlows || len(res.Problems) > lim.MaxProblems {
			t.Fatalf("limits exceeded: %d flows, %d problems", len(res.Flows), len(res.Problems))
		}
		for _, fl := range res.Flows {
			if !fl.Src.IP.IsValid() && fl.Src.Workload == "" && fl.Src.Pod == "" {
				t.Fatalf("flow without a source: %+v", fl)
			}
			if (fl.Protocol == "TCP" || fl.Protocol == "UDP" || fl.Protocol == "SCTP") && (fl.DstPort < 1 || fl.DstPort > 65535) {
				t.Fatalf("flow with port %d", fl.DstPort)
			}
		}
	})
}
