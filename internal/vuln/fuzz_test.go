package vuln

import (
	"bytes"
	"os"
	"testing"
)

// FuzzParseRecord: any input is either refused with an error or yields a record that the
// matcher can evaluate without panicking.
func FuzzParseRecord(f *testing.F) {
	for _, p := range ghsaFiles(f) {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Add([]byte(rec("X-1", `"affected":[{"package":{"ecosystem":"Debian:12","name":"p"},"versions":["1"],"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1:2~rc1"},{"limit":"*"}]}]}]`)))
	f.Add([]byte(`{"id":"X","affected":[{"package":{"ecosystem":"npm","name":"a"},"ranges":[{"type":"SEMVER","events":[{}]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRecord(data)
		if err != nil {
			return
		}
		rate(r.Severity, r.DatabaseSpecific)
		for _, a := range r.Affected {
			d := affectedData{Ranges: a.Ranges, Versions: a.Versions, Rating: rate(a.Severity, a.DatabaseSpecific, a.EcosystemSpecific)}
			eco := normalizeEcosystem(a.Package.Ecosystem)
			for _, v := range []string{"0", "1.0.0", "1:2.0-1", "v1.2.3", "1.0.0-rc1", "go1.21.3"} {
				evaluate(normalizeVersion(eco, a.Package.Name, v), &d, newParser(Ecosystem(eco)), newParser(RangeSemver))
			}
		}
	})
}

// FuzzReadZip: a hostile archive is refused or read within the limits, never a panic, and
// never more than MaxRecordBytes per record.
func FuzzReadZip(f *testing.F) {
	f.Add(zipOf(f, map[string][]byte{"a.json": []byte(`{"id":"A"}`)}))
	f.Add(zipOf(f, map[string][]byte{"dir/": nil, "b.json": make([]byte, 4096)}))
	f.Add([]byte("PK\x05\x06" + string(make([]byte, 18))))
	lim := Limits{MaxArchiveBytes: 1 << 20, MaxEntries: 100, MaxRecordBytes: 64 << 10, MaxTotalBytes: 1 << 20}
	f.Fuzz(func(t *testing.T, data []byte) {
		readZip(bytes.NewReader(data), int64(len(data)), lim, func(e *entry) error {
			b, err := e.data(lim.MaxRecordBytes)
			if err == nil && int64(len(b)) > lim.MaxRecordBytes {
				t.Fatalf("%s: %d bytes past the limit", e.Name, len(b))
			}
			if err == nil {
				ParseRecord(b)
			}
			return nil
		})
	})
}
