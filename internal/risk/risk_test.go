package risk

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"redoubt.dev/redoubt/internal/estate"
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/inventory/manifest"

	_ "redoubt.dev/redoubt/internal/checks" // registers the deploy checks the factors name
)

func load(t *testing.T, docs ...string) *inventory.Snapshot {
	t.Helper()
	p := filepath.Join(t.TempDir(), "m.yaml")
	if err := os.WriteFile(p, []byte(strings.Join(docs, "\n---\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := manifest.Load(context.Background(), []string{p}, manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range s.Problems {
		t.Fatal(pr)
	}
	return s
}

// deployment is a workload with knobs for every factor the snapshot holds.
func deployment(name string, pod string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %s, namespace: ns}
spec:
  selector: {matchLabels: {app: %s}}
  template:
    metadata: {labels: {app: %s}}
    spec:
      automountServiceAccountToken: false
%s      containers:
        - name: c
          image: registry.shop.internal/%s:1.0
`, name, name, name, pod, name)
}

func vulnFinding(image, id string, sev finding.Severity, fixable bool) finding.Finding {
	return finding.Finding{Check: "image-vulnerability", Phase: finding.PhaseBuild, Severity: sev,
		Resource: finding.Resource{Kind: "Image", Name: image}, Location: finding.Location{Image: image},
		Vulnerability: &finding.Vulnerability{ID: id, Package: "openssl", InstalledVersion: "1", Fixable: fixable}}
}

func deployFinding(name, check string, sev finding.Severity) finding.Finding {
	return finding.Finding{Check: check, Phase: finding.PhaseDeploy, Severity: sev,
		Resource: finding.Resource{Namespace: "ns", Kind: "Deployment", Name: name}, Message: check + " on " + name}
}

func scoreOf(r *Ranking, name string) (float64, int) {
	for _, w := range r.Workloads {
		if w.Name == name {
			return w.Score, w.Rank
		}
	}
	panic("no workload " + name)
}

// TestEachFactorRaisesTheScore compares a workload with its twin that has one more of one
// factor: the twin must score higher and rank above it.
func TestEachFactorRaisesTheScore(t *testing.T) {
	const isolate = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: ns}
spec: {podSelector: {}, policyTypes: [Ingress]}`
	const img = "registry.shop.internal/twin:1.0"
	tests := []struct {
		name     string
		docs     []string
		findings []finding.Finding
		factor   string
	}{
		{"a vulnerability", nil, []finding.Finding{vulnFinding(img, "CVE-1", finding.Medium, false)}, FactorVulnerabilities},
		{"a fixable vulnerability over an unfixable one", nil, []finding.Finding{vulnFinding(img, "CVE-1", finding.High, true)}, FactorVulnerabilities},
		{"a deploy finding", nil, []finding.Finding{deployFinding("twin", "run-as-root", finding.Low)}, FactorFindings},
		{"a LoadBalancer", []string{`apiVersion: v1
kind: Service
metadata: {name: lb, namespace: ns}
spec: {type: LoadBalancer, selector: {app: twin}, ports: [{port: 80}]}`}, nil, FactorExposure},
		{"reachable from any address", nil, []finding.Finding{{Check: "netpol-reachable", Phase: finding.PhaseDeploy, Severity: finding.Info,
			Resource: finding.Resource{Namespace: "ns", Kind: "Deployment", Name: "twin"}, Evidence: map[string]any{ReachabilityEvidence: ReachAnyAddress}}}, FactorExposure},
		{"a powerful service account", []string{`apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: edit, namespace: ns}
subjects: [{kind: ServiceAccount, name: twin, namespace: ns}]
roleRef: {kind: ClusterRole, name: edit, apiGroup: rbac.authorization.k8s.io}`}, nil, FactorAccess},
		{"a risky component", nil, []finding.Finding{{Check: "image-has-shell", Phase: finding.PhaseBuild, Severity: finding.Low,
			Resource: finding.Resource{Kind: "Image", Name: img}, Location: finding.Location{Image: img}}}, FactorComponents},
	}
	base := func(extra ...string) *inventory.Snapshot {
		pod := ""
		if len(extra) > 0 && extra[0] == "tokens" {
			pod = "      automountServiceAccountToken: true\n"
			extra = extra[1:]
		}
		// Each twin runs as its own service account; only the access case binds one.
		same := strings.Replace(deployment("same", "      serviceAccountName: same\n"), "automountServiceAccountToken: false", "automountServiceAccountToken: true", 1)
		twin := strings.Replace(deployment("twin", "      serviceAccountName: twin\n"), "automountServiceAccountToken: false", "automountServiceAccountToken: true", 1)
		if pod == "" {
			same, twin = deployment("same", ""), deployment("twin", "")
		}
		docs := []string{same, twin, isolate}
		return load(t, append(docs, extra...)...)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s *inventory.Snapshot
			if tt.factor == FactorAccess {
				s = base(append([]string{"tokens"}, tt.docs...)...)
			} else {
				s = base(tt.docs...)
			}
			fs := tt.findings
			if tt.name == "a fixable vulnerability over an unfixable one" {
				// Same vulnerability, fixable in the twin only: compare against the unfixable one.
				fs = append(fs, vulnFinding("registry.shop.internal/same:1.0", "CVE-1", finding.High, false))
			}
			r := Rank(s, fs)
			twin, twinRank := scoreOf(r, "twin")
			same, sameRank := scoreOf(r, "same")
			if twin <= same || twinRank > sameRank {
				t.Errorf("twin with %s scores %.1f (rank %d), plain %.1f (rank %d)", tt.name, twin, twinRank, same, sameRank)
			}
			for _, w := range r.Workloads {
				if w.Name != "twin" {
					continue
				}
				for _, f := range w.Factors {
					if f.Name == tt.factor && f.Points <= 0 {
						t.Errorf("factor %s has %.1f points: %s", f.Name, f.Points, f.Explanation)
					}
				}
			}
		})
	}
}

// TestMoreOfAFactorNeverLowersTheScore adds findings and host access one at a time.
func TestMoreOfAFactorNeverLowersTheScore(t *testing.T) {
	host := []string{"      hostPID: true\n", "      hostPID: true\n      hostNetwork: true\n",
		"      hostPID: true\n      hostNetwork: true\n      hostIPC: true\n",
		"      hostPID: true\n      hostNetwork: true\n      hostIPC: true\n      volumes: [{name: h, hostPath: {path: /var/run/docker.sock}}]\n"}
	prev := -1.0
	for i, pod := range append([]string{""}, host...) {
		s := load(t, deployment("w", pod))
		score, _ := scoreOf(Rank(s, nil), "w")
		if score <= prev {
			t.Errorf("host access step %d: score %.1f, not above %.1f", i, score, prev)
		}
		prev = score
	}
	s := load(t, deployment("w", ""))
	prev = -1
	var fs []finding.Finding
	for i := range 40 {
		sev := finding.Severities()[i%5]
		if sev == finding.Info {
			sev = finding.Low
		}
		fs = append(fs, vulnFinding("registry.shop.internal/w:1.0", fmt.Sprintf("CVE-%d", i), sev, i%2 == 0),
			deployFinding("w", fmt.Sprintf("check-%d", i), sev))
		score, _ := scoreOf(Rank(s, fs), "w")
		if score <= prev {
			t.Errorf("after %d vulnerabilities and findings: score %.1f, not above %.1f", i+1, score, prev)
		}
		prev = score
	}
}

func TestSuppressedFindingsDoNotCount(t *testing.T) {
	s := load(t, deployment("w", ""))
	f := deployFinding("w", "run-as-root", finding.High)
	plain, _ := scoreOf(Rank(s, nil), "w")
	f.Suppressed = &finding.Suppression{Source: "config", Reason: "accepted"}
	suppressed, _ := scoreOf(Rank(s, []finding.Finding{f}), "w")
	if suppressed != plain {
		t.Errorf("a suppressed finding moved the score from %.1f to %.1f", plain, suppressed)
	}
}

// TestOrderOfInputsNeverChangesTheRanking shuffles the snapshot's object lists and the findings
// and checks the ranking, explanations included, stays byte for byte the same.
func TestOrderOfInputsNeverChangesTheRanking(t *testing.T) {
	s, err := manifest.Load(context.Background(), []string{"../../examples/shop"}, manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	var fs []finding.Finding
	for _, w := range s.Workloads {
		for i := range r.IntN(6) {
			fs = append(fs, deployFinding(w.Name, fmt.Sprintf("check-%d", i), finding.Severity(r.IntN(5))))
			fs[len(fs)-1].Resource.Namespace, fs[len(fs)-1].Resource.Kind = w.Namespace, w.Kind
		}
	}
	for _, img := range s.Images {
		for i := range r.IntN(4) {
			fs = append(fs, vulnFinding(img.Ref, fmt.Sprintf("CVE-2026-%d", i), finding.Severity(r.IntN(5)), r.IntN(2) == 0))
		}
	}
	want := rankJSON(t, Rank(s, fs))
	for range 25 {
		shuffle(r, fs)
		shuffle(r, s.Workloads)
		shuffle(r, s.Images)
		shuffle(r, s.NetworkPolicies)
		shuffle(r, s.ClusterRoleBindings)
		shuffle(r, s.RoleBindings)
		shuffle(r, s.Roles)
		shuffle(r, s.ServiceAccounts)
		for _, w := range s.Workloads {
			shuffle(r, w.Services)
		}
		if got := rankJSON(t, Rank(s, fs)); got != want {
			t.Fatalf("a reordering changed the ranking:\n%s\nwas:\n%s", got, want)
		}
	}
}

func shuffle[T any](r *rand.Rand, s []T) {
	r.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
}

func rankJSON(t *testing.T, r *Ranking) string {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestExampleRanksAndExplainsEveryWorkload(t *testing.T) {
	s, err := manifest.Load(context.Background(), []string{"../../examples/shop"}, manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := Rank(s, nil)
	if len(r.Workloads) != len(s.Workloads) {
		t.Fatalf("%d workloads ranked of %d", len(r.Workloads), len(s.Workloads))
	}
	if top := r.Workloads[0]; top.Name != "log-shipper" {
		t.Errorf("top risk %s, want log-shipper (privileged, Docker socket, cluster-admin)", top.Key())
	}
	for i, w := range r.Workloads {
		if w.Rank != i+1 || (w.Score > 0 && len(w.Factors) == 0) {
			t.Errorf("%s: rank %d, score %.1f, %d factors", w.Key(), w.Rank, w.Score, len(w.Factors))
		}
		sum := 0.0
		for _, f := range w.Factors {
			if f.Name != FactorExposure {
				sum += f.Points
			}
		}
		if sum == 0 && w.Score != 0 && !slices.ContainsFunc(w.Factors, func(f Factor) bool { return f.Name == FactorExposure }) {
			t.Errorf("%s: score %.1f from no factor", w.Key(), w.Score)
		}
		for _, f := range w.Factors {
			if f.Explanation == "" {
				t.Errorf("%s: factor %s unexplained", w.Key(), f.Name)
			}
		}
	}
}

func TestFactorChecksAreRegistered(t *testing.T) {
	for _, id := range slices.Concat(HostChecks(), ExposureChecks()) {
		if _, ok := finding.Lookup(id); !ok {
			t.Errorf("the risk factors name check %q, which is not registered: renamed?", id)
		}
	}
}

// A service account's permissions only count when its token is mounted in the pods.
func TestUnmountedTokenDoesNotCount(t *testing.T) {
	s := load(t, deployment("same", "      serviceAccountName: same\n"), deployment("twin", "      serviceAccountName: twin\n"), `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: admin}
subjects: [{kind: ServiceAccount, name: twin, namespace: ns}]
roleRef: {kind: ClusterRole, name: cluster-admin, apiGroup: rbac.authorization.k8s.io}`)
	r := Rank(s, nil)
	twin, _ := scoreOf(r, "twin")
	same, _ := scoreOf(r, "same")
	if twin != same {
		t.Errorf("cluster-admin without a mounted token scored %.1f, plain %.1f", twin, same)
	}
	for _, w := range r.Workloads {
		if w.Name != "twin" {
			continue
		}
		i := slices.IndexFunc(w.Factors, func(f Factor) bool { return f.Name == FactorAccess })
		if i < 0 || !strings.Contains(w.Factors[i].Explanation, "not mounted") {
			t.Errorf("access factor %+v does not say why it counts nothing", w.Factors)
		}
	}
}

// BenchmarkRankEstate10k ranks a generated estate of 10,000 workloads (100 namespaces, RBAC in
// each): the cost the ranking adds to every scan.
//
//	go test ./internal/risk -run XXX -bench RankEstate10k
func BenchmarkRankEstate10k(b *testing.B) {
	dir := b.TempDir()
	if _, err := estate.Write(dir, estate.Options{Workloads: 10000, Namespaces: 100, FilesPerNamespace: 4}); err != nil {
		b.Fatal(err)
	}
	s, err := manifest.Load(context.Background(), []string{dir}, manifest.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if r := Rank(s, nil); len(r.Workloads) != len(s.Workloads) {
			b.Fatal("not every workload ranked")
		}
	}
}

// Findings about one workload never count for another that runs the same image; findings about
// the image alone count for every workload that runs it.
func TestImageAttribution(t *testing.T) {
	s := load(t, deployment("a", ""), strings.Replace(deployment("b", ""), "registry.shop.internal/b:1.0", "registry.shop.internal/a:1.0", 1))
	img := "registry.shop.internal/a:1.0"
	aOnly := deployFinding("a", "image-mutable-tag", finding.High)
	aOnly.Location.Image = img
	comp := finding.Finding{Check: "image-has-shell", Phase: finding.PhaseBuild, Severity: finding.Low,
		Resource: finding.Resource{Namespace: "ns", Kind: "Deployment", Name: "a", Container: "c"}, Location: finding.Location{Image: img}}
	r := Rank(s, []finding.Finding{aOnly, comp})
	a, _ := scoreOf(r, "a")
	b, _ := scoreOf(r, "b")
	if !(a > b) {
		t.Errorf("a's own findings counted for b: a %.1f, b %.1f", a, b)
	}
	alone := vulnFinding(img, "CVE-9", finding.Critical, true)
	r = Rank(s, []finding.Finding{alone})
	a, _ = scoreOf(r, "a")
	b, _ = scoreOf(r, "b")
	if a != b || a == 0 {
		t.Errorf("an image's own finding: a %.1f, b %.1f, want equal and above zero", a, b)
	}
}
