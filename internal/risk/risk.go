// Package risk ranks workloads: it scores every workload of a snapshot from the findings of
// every other analyzer and from the snapshot itself, and explains each score factor by factor,
// so that a person can see why one workload comes before another and argue with it.
//
// The formula (docs/risk.md has the reasoning):
//
//	base  = vulnerabilities + findings + access + host + components + secrets
//	score = exposure + base × (1 + exposure/50)
//
//	vulnerabilities = 10·log2(1 + v/5)   v = Σ per distinct vulnerability: critical 10, high 5,
//	                                         medium 2, low 1; ×1.5 when a fix exists
//	findings        = 10·log2(1 + d/5)   d = Σ per deploy finding: critical 10, high 5, medium 2,
//	                                         low 1 (host-access checks and exposed-workload are
//	                                         counted by their own factors instead)
//	exposure        = 25 if reachable from outside the cluster (LoadBalancer, NodePort,
//	                  externalIPs, Ingress, or a network finding saying any address reaches it)
//	                  + 8 if reachable from other namespaces (no NetworkPolicy isolates its
//	                  ingress, or a network finding says so)
//	access          = Σ over its service account's capability classes, when its token is
//	                  mounted: cluster-admin 40, escalate 25, node-access 20, run-workloads 15,
//	                  read-secrets 15, cluster-wide 10
//	host            = privileged 20, hostPID 10, hostNetwork 8, hostIPC 5, per hostPath volume
//	                  5 (15 if writable), +15 for a container runtime socket, per added
//	                  capability 3 (SYS_ADMIN 15, SYS_PTRACE 8, NET_ADMIN 5)
//	components      = 8·log2(1 + c)       c = build-phase findings that are not vulnerabilities
//	                                          (risky components in its images)
//	secrets         = 5·log2(1 + s)       s = Secrets it mounts or reads into its environment
//
// Suppressed findings do not count: an exception is a decision that the finding is accepted.
// Every factor only ever adds, so more of anything never lowers a score; ranks are by score,
// then by namespace, kind and name, so the order of the inputs never changes them.
//
// Findings reach the ranking by their resource (the workload), or, for findings about something
// other than a workload, by the image reference or digest a workload runs, so the image and
// network analyzers feed it without changes here. A network analyzer says how far a workload is reachable with a finding about the
// workload whose evidence has "reachability": "any-address" or "other-namespaces".
package risk

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"redoubt.dev/redoubt/internal/access"
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/rbac"
)

// The factors, in the order explanations list them.
const (
	FactorVulnerabilities = "vulnerabilities"
	FactorFindings        = "findings"
	FactorExposure        = "exposure"
	FactorAccess          = "access"
	FactorHost            = "host"
	FactorComponents      = "components"
	FactorSecrets         = "secrets"
)

// Formula is the formula in one line, for reports.
const Formula = "score = exposure + (vulnerabilities + findings + access + host + components + secrets) × (1 + exposure/50); see docs/risk.md"

// ReachabilityEvidence is the evidence key a network finding sets to say how far a workload is
// reachable: ReachAnyAddress or ReachOtherNamespaces.
const (
	ReachabilityEvidence = "reachability"
	ReachAnyAddress      = "any-address"
	ReachOtherNamespaces = "other-namespaces"
)

// Ranking is every workload, most at risk first.
type Ranking struct {
	Formula   string         `json:"formula"`
	Workloads []WorkloadRisk `json:"workloads"`
}

// WorkloadRisk is one workload's score and its explanation.
type WorkloadRisk struct {
	Rank      int     `json:"rank"`
	Cluster   string  `json:"cluster,omitempty"`
	Namespace string  `json:"namespace"`
	Kind      string  `json:"kind"`
	Name      string  `json:"name"`
	Score     float64 `json:"score"`
	// Factors lists the factors that add points or have facts to show, in the order of the
	// formula; a factor left out counts zero.
	Factors []Factor `json:"factors"`
}

// Key is namespace/Kind/name.
func (w *WorkloadRisk) Key() string { return w.Namespace + "/" + w.Kind + "/" + w.Name }

// Factor is one factor's contribution.
type Factor struct {
	Name   string  `json:"name"`
	Points float64 `json:"points"`
	// Explanation says how the points were reached.
	Explanation string `json:"explanation"`
	// Items are the facts behind the points, one per line.
	Items []string `json:"items,omitempty"`
}

// Severity weights shared by the vulnerability and finding factors.
var severityWeight = map[finding.Severity]float64{
	finding.Critical: 10, finding.High: 5, finding.Medium: 2, finding.Low: 1, finding.Unknown: 1, finding.Info: 0,
}

// hostChecks are deploy checks whose facts the host factor already counts.
var hostChecks = []string{"privileged-container", "host-namespaces", "host-path-volume",
	"sensitive-host-path", "writable-host-path", "dangerous-capabilities"}

// exposureChecks are deploy checks whose facts the exposure factor counts.
var exposureChecks = []string{"exposed-workload"}

// HostChecks and ExposureChecks are exported for the test that they are registered.
func HostChecks() []string     { return slices.Clone(hostChecks) }
func ExposureChecks() []string { return slices.Clone(exposureChecks) }

// Rank scores and ranks every workload of the snapshot. findings are the audit's findings,
// exceptions applied.
func Rank(s *inventory.Snapshot, findings []finding.Finding) *Ranking {
	return RankWithReach(s, findings, nil)
}

// ReachFunc says how far a workload can be reached through the network, as the network analysis
// computes it: from outside addresses, from pods of other namespaces, and why, one fact per line.
type ReachFunc func(w *inventory.Workload) (addresses, otherNamespaces bool, why []string)

// RankWithReach ranks like Rank, taking reachability from the network analysis. Without it
// (reach nil), a workload counts as reachable from other namespaces when no NetworkPolicy of
// its namespace selects it for ingress.
func RankWithReach(s *inventory.Snapshot, findings []finding.Finding, reach ReachFunc) *Ranking {
	return RankWithAccess(s, findings, reach, access.ForWorkloads(s))
}

// RankWithAccess ranks like RankWithReach, with every workload's access already computed
// (access.ForWorkloadsWith, keyed by Workload.Key()): internal/audit builds the RBAC policy once
// per snapshot for the access checks and the ranking.
func RankWithAccess(s *inventory.Snapshot, findings []finding.Finding, reach ReachFunc, acc map[string]access.WorkloadAccess) *Ranking {
	byWorkload, byImage := index(s, findings)
	policies := map[string][]*inventory.NetworkPolicy{}
	for _, np := range s.NetworkPolicies {
		policies[np.Namespace] = append(policies[np.Namespace], np)
	}
	images := imagesOf(s)
	out := &Ranking{Formula: Formula, Workloads: make([]WorkloadRisk, 0, len(s.Workloads))}
	for _, w := range s.Workloads {
		wr := WorkloadRisk{Cluster: s.Source.Cluster, Namespace: w.Namespace, Kind: w.Kind, Name: w.Name}
		fs := slices.Clone(byWorkload[w.Key()])
		for _, ref := range images[w.Key()] {
			fs = append(fs, byImage[ref]...)
		}
		fs = dedupe(fs)
		exposure := exposureFactor(policies[w.Namespace], w, fs, reach)
		base := []Factor{
			vulnerabilityFactor(fs),
			findingFactor(fs),
			accessFactor(acc[w.Key()]),
			hostFactor(w),
			componentFactor(fs),
			secretFactor(w),
		}
		sum := 0.0
		for _, f := range base {
			sum += f.Points
		}
		wr.Score = round(exposure.Points + sum*(1+exposure.Points/50))
		// Factors that add nothing and have nothing to show are left out: zero is the default.
		for _, f := range append([]Factor{base[0], base[1], exposure}, base[2:]...) {
			if f.Points == 0 && len(f.Items) == 0 {
				continue
			}
			f.Points = round(f.Points)
			wr.Factors = append(wr.Factors, f)
		}
		out.Workloads = append(out.Workloads, wr)
	}
	slices.SortFunc(out.Workloads, func(a, b WorkloadRisk) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name))
	})
	for i := range out.Workloads {
		out.Workloads[i].Rank = i + 1
	}
	return out
}

func round(x float64) float64 { return math.Round(x*10) / 10 }

func logPoints(weight, raw, scale float64) float64 { return weight * math.Log2(1+raw/scale) }

// index groups unsuppressed findings by workload: a finding about a workload counts for it alone
// (whatever image it names); a finding about something else that names an image (an image
// scanned on its own) counts for every workload running that image, by reference or digest.
func index(s *inventory.Snapshot, fs []finding.Finding) (byWorkload, byImage map[string][]*finding.Finding) {
	byWorkload, byImage = map[string][]*finding.Finding{}, map[string][]*finding.Finding{}
	for i := range fs {
		f := &fs[i]
		if f.Suppressed != nil {
			continue
		}
		r := f.Resource
		if s.Workload(r.Namespace, r.Kind, r.Name) != nil {
			k := r.Namespace + "/" + r.Kind + "/" + r.Name
			byWorkload[k] = append(byWorkload[k], f)
			continue
		}
		if f.Location.Image != "" {
			byImage[f.Location.Image] = append(byImage[f.Location.Image], f)
		}
		if f.Location.Digest != "" && f.Location.Digest != f.Location.Image {
			byImage[f.Location.Digest] = append(byImage[f.Location.Digest], f)
		}
	}
	return byWorkload, byImage
}

// imagesOf lists the image references and digests each workload runs.
func imagesOf(s *inventory.Snapshot) map[string][]string {
	out := map[string][]string{}
	for _, img := range s.Images {
		for _, u := range img.Uses {
			k := u.Workload.Key()
			out[k] = append(out[k], img.Ref)
			if img.Digest != "" {
				out[k] = append(out[k], img.Digest)
			}
		}
	}
	for k, v := range out {
		slices.Sort(v)
		out[k] = slices.Compact(v)
	}
	return out
}

// dedupe drops findings seen twice (a workload finding that also names its image) and sorts
// them, so that sums never depend on input order.
func dedupe(fs []*finding.Finding) []*finding.Finding {
	if len(fs) < 2 {
		return fs
	}
	type keyed struct {
		key string
		f   *finding.Finding
	}
	ks := make([]keyed, len(fs))
	for i, f := range fs {
		ks[i] = keyed{f.Key(), f}
	}
	slices.SortFunc(ks, func(a, b keyed) int { return cmp.Compare(a.key, b.key) })
	ks = slices.CompactFunc(ks, func(a, b keyed) bool { return a.key == b.key })
	out := fs[:0]
	for _, k := range ks {
		out = append(out, k.f)
	}
	return out
}

func vulnerabilityFactor(fs []*finding.Finding) Factor {
	f := Factor{Name: FactorVulnerabilities}
	seen := map[string]bool{}
	counts := map[finding.Severity]int{}
	fixable := 0
	raw := 0.0
	for _, x := range fs {
		v := x.Vulnerability
		if v == nil {
			continue
		}
		key := v.ID + "|" + v.Package + "|" + v.InstalledVersion
		if seen[key] {
			continue
		}
		seen[key] = true
		w := severityWeight[x.Severity]
		if v.Fixable {
			w *= 1.5
			fixable++
		}
		raw += w
		counts[x.Severity]++
	}
	n := len(seen)
	if n == 0 {
		f.Explanation = "no known vulnerabilities"
		return f
	}
	f.Points = logPoints(10, raw, 5)
	f.Explanation = fmt.Sprintf("%d distinct (%s; %d fixable): weight %.1f → 10·log2(1 + %.1f/5)", n, severityCounts(counts), fixable, raw, raw)
	return f
}

func severityCounts(counts map[finding.Severity]int) string {
	var parts []string
	for _, s := range finding.Severities() {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	return strings.Join(parts, ", ")
}

func findingFactor(fs []*finding.Finding) Factor {
	f := Factor{Name: FactorFindings}
	counts := map[finding.Severity]int{}
	raw := 0.0
	for _, x := range fs {
		if x.Phase != finding.PhaseDeploy || x.Vulnerability != nil || slices.Contains(hostChecks, x.Check) || slices.Contains(exposureChecks, x.Check) {
			continue
		}
		raw += severityWeight[x.Severity]
		counts[x.Severity]++
		// The prefix orders items most severe first; it is cut before they are shown.
		f.Items = append(f.Items, fmt.Sprintf("%d|%s %s", finding.Critical-x.Severity, x.Severity, x.Check))
	}
	if len(f.Items) == 0 {
		f.Explanation = "no deploy findings"
		return f
	}
	f.Items = compactCounts(f.Items)
	for i, it := range f.Items {
		_, f.Items[i], _ = strings.Cut(it, "|")
	}
	f.Points = logPoints(10, raw, 5)
	f.Explanation = fmt.Sprintf("%s: weight %.0f → 10·log2(1 + %.0f/5)", severityCounts(counts), raw, raw)
	return f
}

// compactCounts turns repeated items into "item ×n".
func compactCounts(items []string) []string {
	slices.Sort(items)
	var out []string
	for i := 0; i < len(items); {
		j := i
		for j < len(items) && items[j] == items[i] {
			j++
		}
		if j-i > 1 {
			out = append(out, fmt.Sprintf("%s ×%d", items[i], j-i))
		} else {
			out = append(out, items[i])
		}
		i = j
	}
	return out
}

func exposureFactor(policies []*inventory.NetworkPolicy, w *inventory.Workload, fs []*finding.Finding, reach ReachFunc) Factor {
	f := Factor{Name: FactorExposure}
	external, wide := false, false
	for _, svc := range w.Services {
		if how := svc.ExternalExposure(); how != "" {
			external = true
			f.Items = append(f.Items, fmt.Sprintf("%s Service %s", how, svc.Name))
		}
	}
	for _, ing := range w.Ingresses {
		external = true
		f.Items = append(f.Items, "Ingress "+ing.Name)
	}
	for _, x := range fs {
		switch x.Evidence[ReachabilityEvidence] {
		case ReachAnyAddress:
			external = true
			f.Items = append(f.Items, fmt.Sprintf("%s: %s", x.Check, x.Message))
		case ReachOtherNamespaces:
			wide = true
			f.Items = append(f.Items, fmt.Sprintf("%s: %s", x.Check, x.Message))
		}
		if slices.Contains(exposureChecks, x.Check) && !external {
			external = true
			f.Items = append(f.Items, x.Message)
		}
	}
	switch {
	case reach != nil:
		// Pod addresses are rarely routable from outside the cluster, so a policy that admits any
		// address widens the exposure like one that admits any namespace; only Services and
		// Ingresses make a workload reachable from outside.
		addresses, other, why := reach(w)
		wide = wide || other || addresses
		f.Items = append(f.Items, why...)
	case !isolated(policies, w):
		wide = true
		f.Items = append(f.Items, "no NetworkPolicy isolates its pods' ingress: any pod in the cluster can connect")
	}
	f.Items = compactCounts(f.Items)
	switch {
	case external && wide:
		f.Points = 33
		f.Explanation = "reachable from outside the cluster (25) and from other namespaces (8)"
	case external:
		f.Points = 25
		f.Explanation = "reachable from outside the cluster (25)"
	case wide:
		f.Points = 8
		f.Explanation = "reachable from other namespaces (8)"
	default:
		f.Explanation = "not reachable from outside its namespace"
	}
	return f
}

// isolated reports whether some NetworkPolicy of the workload's namespace selects its pods for
// ingress: then only what the policies allow reaches it (the network analysis says what that
// is). Host-network pods are never isolated by NetworkPolicy.
func isolated(policies []*inventory.NetworkPolicy, w *inventory.Workload) bool {
	if w.Template.Spec.HostNetwork {
		return false
	}
	for _, np := range policies {
		if !slices.Contains(np.Spec.PolicyTypes, "Ingress") {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil {
			continue
		}
		if sel.Matches(labels.Set(w.Template.Labels)) {
			return true
		}
	}
	return false
}

// capabilityPoints weighs the classes of a service account's reach.
var capabilityPoints = map[rbac.Capability]float64{
	rbac.ClusterAdmin: 40, rbac.Escalate: 25, rbac.NodeAccess: 20, rbac.RunWorkloads: 15, rbac.ReadSecrets: 15, rbac.ClusterWide: 10,
}

func accessFactor(a access.WorkloadAccess) Factor {
	f := Factor{Name: FactorAccess}
	if len(a.Reach) == 0 {
		f.Explanation = fmt.Sprintf("service account %q has no dangerous permissions", a.ServiceAccount)
		return f
	}
	var parts []string
	for _, r := range a.Reach {
		f.Items = append(f.Items, fmt.Sprintf("%s (%d)", r.String(), int(capabilityPoints[r.Class])))
		if a.TokenMounted {
			f.Points += capabilityPoints[r.Class]
			parts = append(parts, string(r.Class))
		}
	}
	if !a.TokenMounted {
		f.Explanation = fmt.Sprintf("service account %q has permissions, but its token is not mounted, so the pods cannot use them", a.ServiceAccount)
		return f
	}
	f.Explanation = fmt.Sprintf("service account %q, token mounted: %s", a.ServiceAccount, strings.Join(parts, ", "))
	return f
}

// runtimeSockets are host paths that hand over the container runtime.
var runtimeSockets = []string{"/var/run/docker.sock", "/run/docker.sock", "/var/run/containerd/containerd.sock",
	"/run/containerd/containerd.sock", "/var/run/crio/crio.sock", "/run/crio/crio.sock", "/var/run", "/run"}

// capabilityWeight weighs added Linux capabilities.
var capabilityWeight = map[corev1.Capability]float64{"SYS_ADMIN": 15, "SYS_PTRACE": 8, "NET_ADMIN": 5, "ALL": 20}

func hostFactor(w *inventory.Workload) Factor {
	f := Factor{Name: FactorHost}
	spec := &w.Template.Spec
	add := func(points float64, format string, args ...any) {
		f.Points += points
		f.Items = append(f.Items, fmt.Sprintf(format+" (%g)", append(args, points)...))
	}
	if spec.HostPID {
		add(10, "hostPID")
	}
	if spec.HostNetwork {
		add(8, "hostNetwork")
	}
	if spec.HostIPC {
		add(5, "hostIPC")
	}
	writable := map[string]bool{}
	privileged := false
	visit := func(c *corev1.Container) {
		sec := inventory.ResolveSecurity(spec, c)
		if sec.Privileged && !privileged {
			privileged = true
			add(20, "privileged container %s", c.Name)
		}
		for _, cp := range sec.AddCapabilities {
			wt, ok := capabilityWeight[cp]
			if !ok {
				wt = 3
			}
			add(wt, "container %s adds %s", c.Name, cp)
		}
		for _, m := range c.VolumeMounts {
			if !m.ReadOnly {
				writable[m.Name] = true
			}
		}
	}
	for i := range spec.InitContainers {
		visit(&spec.InitContainers[i])
	}
	for i := range spec.Containers {
		visit(&spec.Containers[i])
	}
	for _, v := range spec.Volumes {
		if v.HostPath == nil {
			continue
		}
		if writable[v.Name] {
			add(15, "writable hostPath %s", v.HostPath.Path)
		} else {
			add(5, "read-only hostPath %s", v.HostPath.Path)
		}
		if slices.Contains(runtimeSockets, strings.TrimRight(v.HostPath.Path, "/")) {
			add(15, "%s hands over the container runtime", v.HostPath.Path)
		}
	}
	if len(f.Items) == 0 {
		f.Explanation = "no host access"
	} else {
		f.Explanation = fmt.Sprintf("%d way%s into the node", len(f.Items), plural(len(f.Items)))
	}
	return f
}

func componentFactor(fs []*finding.Finding) Factor {
	f := Factor{Name: FactorComponents}
	for _, x := range fs {
		if x.Phase == finding.PhaseBuild && x.Vulnerability == nil {
			item := x.Check
			if x.Location.Image != "" {
				item += " in " + x.Location.Image
			}
			f.Items = append(f.Items, item)
		}
	}
	if len(f.Items) == 0 {
		f.Explanation = "no risky components reported in its images"
		return f
	}
	f.Items = compactCounts(f.Items)
	n := 0
	for _, x := range fs {
		if x.Phase == finding.PhaseBuild && x.Vulnerability == nil {
			n++
		}
	}
	f.Points = logPoints(8, float64(n), 1)
	f.Explanation = fmt.Sprintf("%d risky component finding%s → 8·log2(1 + %d)", n, plural(n), n)
	return f
}

func secretFactor(w *inventory.Workload) Factor {
	f := Factor{Name: FactorSecrets}
	names := map[string]bool{}
	spec := &w.Template.Spec
	visit := func(c *corev1.Container) {
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				names[e.ValueFrom.SecretKeyRef.Name] = true
			}
		}
		for _, e := range c.EnvFrom {
			if e.SecretRef != nil {
				names[e.SecretRef.Name] = true
			}
		}
	}
	for i := range spec.InitContainers {
		visit(&spec.InitContainers[i])
	}
	for i := range spec.Containers {
		visit(&spec.Containers[i])
	}
	for _, v := range spec.Volumes {
		if v.Secret != nil {
			names[v.Secret.SecretName] = true
		}
		if v.Projected != nil {
			for _, src := range v.Projected.Sources {
				if src.Secret != nil {
					names[src.Secret.Name] = true
				}
			}
		}
	}
	delete(names, "")
	for n := range names {
		f.Items = append(f.Items, n)
	}
	slices.Sort(f.Items)
	if len(f.Items) == 0 {
		f.Explanation = "mounts no Secrets"
		return f
	}
	f.Points = logPoints(5, float64(len(f.Items)), 1)
	f.Explanation = fmt.Sprintf("%d Secret%s → 5·log2(1 + %d)", len(f.Items), plural(len(f.Items)), len(f.Items))
	return f
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
