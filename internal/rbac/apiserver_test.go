package rbac

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	authzv1 "k8s.io/api/authorization/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/inventory/cluster"
	"redoubt.dev/redoubt/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite defaults.json from the real API server")

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// liveSnapshot reads the shared test cluster as `redoubt scan` would.
func liveSnapshot(t *testing.T, c *testenv.Cluster) *inventory.Snapshot {
	t.Helper()
	conn, err := cluster.Connect(cluster.Target{Kubeconfig: c.KubeconfigPath})
	if err != nil {
		t.Fatal(err)
	}
	s, err := cluster.Load(t.Context(), conn, cluster.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range s.Problems {
		t.Errorf("loading the cluster: %v", p)
	}
	return s
}

// universe is what the generated policy is written about.
type universe struct {
	namespaces []string
	users      []User
}

// generator writes random but valid RBAC objects from a small vocabulary, so that verbs,
// groups, resources, subresources, names and subjects collide often enough to exercise every
// matching rule.
type generator struct {
	r   *rand.Rand
	tag string
}

func (g *generator) pick(s ...string) string { return s[g.r.IntN(len(s))] }

func (g *generator) some(n int, s ...string) []string {
	k := 1 + g.r.IntN(n)
	var out []string
	for range k {
		v := g.pick(s...)
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func (g *generator) rule(clusterRole bool) rbacv1.PolicyRule {
	if clusterRole && g.r.IntN(6) == 0 {
		return rbacv1.PolicyRule{Verbs: g.some(2, "get", "post", "*"), NonResourceURLs: g.some(2, "/healthz", "/metrics/*", "/custom", "*")}
	}
	r := rbacv1.PolicyRule{
		Verbs:     g.some(3, "get", "list", "create", "delete", "update", "escalate", "impersonate", "*"),
		APIGroups: g.some(2, "", "", "apps", "*"),
		Resources: g.some(3, "pods", "pods/exec", "pods/*", "*/status", "secrets", "deployments", "configmaps", "users", "nodes", "*"),
	}
	if g.r.IntN(5) == 0 {
		r.ResourceNames = g.some(2, "a", "b")
	}
	return r
}

func (g *generator) rules(n int, clusterRole bool) []rbacv1.PolicyRule {
	out := make([]rbacv1.PolicyRule, 1+g.r.IntN(n))
	for i := range out {
		out[i] = g.rule(clusterRole)
	}
	return out
}

func (g *generator) subjects(bindingNamespace string) []rbacv1.Subject {
	var out []rbacv1.Subject
	for range 1 + g.r.IntN(3) {
		switch g.r.IntN(4) {
		case 0:
			out = append(out, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: g.pick("u0", "u1", "u2", "system:anonymous")})
		case 1:
			out = append(out, rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName,
				Name: g.pick("g0", "g1", "system:authenticated", "system:serviceaccounts:"+g.tag+"-n1", "system:unauthenticated")})
		default:
			s := rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: g.pick("sa0", "sa1"), Namespace: g.pick(g.tag+"-n0", g.tag+"-n1")}
			if bindingNamespace != "" && g.r.IntN(2) == 0 {
				s.Namespace = "" // the binding's own namespace; the API server accepts it in RoleBindings only
			}
			out = append(out, s)
		}
	}
	return out
}

// TestAuthorizeAgreesWithAPIServer writes a generated RBAC policy into the real API server, reads
// it back as a scan does, and compares Authorize and WhoCan with the API server's own
// SubjectAccessReview for every generated request and every identity.
func TestAuthorizeAgreesWithAPIServer(t *testing.T) {
	c := testenv.Shared(t)
	cs := kubernetes.NewForConfigOrDie(c.Admin)
	ctx := t.Context()
	g := &generator{r: rand.New(rand.NewPCG(20261125, 5)), tag: "rbacgen"}
	u := universe{namespaces: []string{g.tag + "-n0", g.tag + "-n1"}}
	for _, ns := range u.namespaces {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	label := func(i int) map[string]string {
		return map[string]string{"rbacgen.redoubt.dev/aggregate-" + fmt.Sprint(i%2): "true"}
	}
	var crNames []string
	for i := range 10 {
		cr := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-cr%d", g.tag, i), Labels: label(i)}, Rules: g.rules(3, true)}
		if i >= 8 {
			// Two aggregated roles, each collecting the roles labelled for it.
			cr.Labels = nil
			cr.Rules = nil
			cr.AggregationRule = &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: label(i)}}}
		}
		if _, err := cs.RbacV1().ClusterRoles().Create(ctx, cr, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		crNames = append(crNames, cr.Name)
	}
	crNames = append(crNames, "view", "edit", "cluster-admin")
	for i := range 12 {
		ns := u.namespaces[i%2]
		role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-r%d", g.tag, i), Namespace: ns}, Rules: g.rules(3, false)}
		if _, err := cs.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 14 {
		crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-crb%d", g.tag, i)}, Subjects: g.subjects(""),
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: g.pick(crNames...)}}
		if i == 13 {
			crb.RoleRef.Name = "cluster-admin"
			crb.Subjects = []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "u2"}}
		}
		if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 24 {
		ns := u.namespaces[i%2]
		rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-rb%d", g.tag, i), Namespace: ns}, Subjects: g.subjects(ns)}
		if g.r.IntN(2) == 0 {
			rb.RoleRef = rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: fmt.Sprintf("%s-r%d", g.tag, g.r.IntN(12))}
		} else {
			rb.RoleRef = rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: g.pick(crNames...)}
		}
		if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitForAggregation(t, cs, g.tag)
	waitForAuthorizer(t, cs, u.namespaces[0], g.tag)

	users := []User{
		{Name: "u0", Groups: []string{"g0", "system:authenticated"}},
		{Name: "u1", Groups: []string{"g1", "g0", "system:authenticated"}},
		{Name: "u2", Groups: []string{"system:authenticated"}},
		{Name: "u3", Groups: []string{"g1", "system:authenticated"}},
		{Name: "system:anonymous", Groups: []string{"system:unauthenticated"}},
		{Name: "root", Groups: []string{MastersGroup, "system:authenticated"}},
	}
	for _, ns := range u.namespaces {
		for _, sa := range []string{"sa0", "sa1"} {
			users = append(users, ServiceAccountUser(ns, sa))
		}
	}

	snap := liveSnapshot(t, c)
	p := NewPolicy(snap, Options{})

	var requests []Request
	for range 220 {
		if g.r.IntN(8) == 0 {
			requests = append(requests, Request{Verb: g.pick("get", "post"), Path: g.pick("/healthz", "/metrics/x", "/metrics", "/custom", "/version", "/other")})
			continue
		}
		r := Request{Verb: g.pick("get", "list", "create", "delete", "update", "escalate", "impersonate", "patch"),
			APIGroup:    g.pick("", "", "apps", "rbac.authorization.k8s.io"),
			Resource:    g.pick("pods", "secrets", "deployments", "configmaps", "nodes", "users", "roles"),
			Subresource: g.pick("", "", "", "exec", "status", "log"),
			Name:        g.pick("", "", "a", "b"),
			Namespace:   g.pick("", u.namespaces[0], u.namespaces[1], u.namespaces[1])}
		requests = append(requests, r)
	}

	type result struct {
		req     Request
		user    User
		allowed bool
		reason  string
		err     error
	}
	results := make(chan result)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, req := range requests {
		for _, user := range users {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				sar := &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{User: user.Name, Groups: user.Groups}}
				if req.Path != "" {
					sar.Spec.NonResourceAttributes = &authzv1.NonResourceAttributes{Path: req.Path, Verb: req.Verb}
				} else {
					sar.Spec.ResourceAttributes = &authzv1.ResourceAttributes{Namespace: req.Namespace, Verb: req.Verb, Group: req.APIGroup,
						Resource: req.Resource, Subresource: req.Subresource, Name: req.Name}
				}
				got, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
				res := result{req: req, user: user, err: err}
				if err == nil {
					res.allowed, res.reason = got.Status.Allowed, got.Status.Reason
				}
				results <- res
			}()
		}
	}
	go func() { wg.Wait(); close(results) }()

	holders := map[string][]Holder{}
	for _, req := range requests {
		holders[req.String()+req.Path] = p.WhoCan(req)
	}
	cases, allowed, mismatches := 0, 0, 0
	for res := range results {
		if res.err != nil {
			t.Errorf("SubjectAccessReview %s for %s: %v", res.req, res.user.Name, res.err)
			continue
		}
		cases++
		if res.allowed {
			allowed++
		}
		d := p.Authorize(res.user, res.req)
		who := Covers(holders[res.req.String()+res.req.Path], res.user)
		if d.Allowed != res.allowed || who != res.allowed {
			mismatches++
			if mismatches <= 20 {
				t.Errorf("%s by %s %v: API server allowed=%v (%s); Authorize=%v, who-can covers=%v",
					res.req, res.user.Name, res.user.Groups, res.allowed, res.reason, d.Allowed, who)
			}
		}
	}
	t.Logf("%d access reviews compared, %d allowed, %d denied, %d disagreements", cases, allowed, cases-allowed, mismatches)
	if cases < 2000 || allowed < cases/20 || allowed > cases*19/20 {
		t.Errorf("the generated cases do not exercise both answers: %d cases, %d allowed", cases, allowed)
	}
}

// waitForAuthorizer waits until the API server's authorizer has seen everything created so far:
// it creates one more Role, RoleBinding, ClusterRole and ClusterRoleBinding, and asks until the
// permissions they grant are allowed. Each kind reaches the authorizer through its own informer,
// in order, so seeing the last object of a kind means seeing every earlier one.
func waitForAuthorizer(t *testing.T, cs kubernetes.Interface, ns, tag string) {
	t.Helper()
	ctx := t.Context()
	name := tag + "-sentinel"
	rule := []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{"sentinel.redoubt.dev"}, Resources: []string{"sentinels"}}}
	subject := []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}}
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rule}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, Subjects: subject,
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	roleRule := []rbacv1.PolicyRule{{Verbs: []string{"list"}, APIGroups: []string{"sentinel.redoubt.dev"}, Resources: []string{"sentinels"}}}
	if _, err := cs.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: roleRule}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Subjects: subject,
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	allowed := func(verb string) bool {
		sar := &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{User: name,
			ResourceAttributes: &authzv1.ResourceAttributes{Namespace: ns, Verb: verb, Group: "sentinel.redoubt.dev", Resource: "sentinels"}}}
		got, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
		return err == nil && got.Status.Allowed
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if allowed("get") && allowed("list") {
			return
		}
	}
	t.Fatal("the API server's authorizer did not catch up with the generated policy within 30s")
}

// waitForAggregation waits until the controller manager has filled the aggregated roles.
func waitForAggregation(t *testing.T, cs kubernetes.Interface, tag string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		list, err := cs.RbacV1().ClusterRoles().List(t.Context(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		done := true
		for _, cr := range list.Items {
			if strings.HasPrefix(cr.Name, tag) && cr.AggregationRule != nil && len(cr.Rules) == 0 {
				done = false
			}
		}
		if done {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("the aggregated ClusterRoles were not filled within 60s (is kube-controller-manager running?)")
}

// TestDefaultsMatchRealAPIServer checks defaults.json against the default policy a real
// kube-apiserver creates, object by object; with -update it rewrites the file from it.
func TestDefaultsMatchRealAPIServer(t *testing.T) {
	c := testenv.Shared(t)
	cs := kubernetes.NewForConfigOrDie(c.Admin)
	ctx := t.Context()
	sel := metav1.ListOptions{LabelSelector: BootstrapLabel + "=rbac-defaults"}
	crs, err := cs.RbacV1().ClusterRoles().List(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	crbs, err := cs.RbacV1().ClusterRoleBindings().List(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	roles, err := cs.RbacV1().Roles("").List(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	rbs, err := cs.RbacV1().RoleBindings("").List(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	version, err := cs.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	live := &defaults{KubernetesVersion: version.GitVersion, Source: defaultPolicy().Source}
	trim := func(m metav1.ObjectMeta) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, Labels: m.Labels, Annotations: m.Annotations}
	}
	for _, x := range crs.Items {
		cr := &rbacv1.ClusterRole{ObjectMeta: trim(x.ObjectMeta), Rules: x.Rules, AggregationRule: x.AggregationRule}
		if cr.AggregationRule != nil {
			cr.Rules = []rbacv1.PolicyRule{} // filled by the controller from whatever is installed
		}
		live.ClusterRoles = append(live.ClusterRoles, cr)
	}
	for _, x := range crbs.Items {
		live.ClusterRoleBindings = append(live.ClusterRoleBindings, &rbacv1.ClusterRoleBinding{ObjectMeta: trim(x.ObjectMeta), RoleRef: x.RoleRef, Subjects: x.Subjects})
	}
	for _, x := range roles.Items {
		live.Roles = append(live.Roles, &rbacv1.Role{ObjectMeta: trim(x.ObjectMeta), Rules: x.Rules})
	}
	for _, x := range rbs.Items {
		live.RoleBindings = append(live.RoleBindings, &rbacv1.RoleBinding{ObjectMeta: trim(x.ObjectMeta), RoleRef: x.RoleRef, Subjects: x.Subjects})
	}
	if *update {
		if err := os.WriteFile("defaults.json", encodeDefaults(t, live), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	d := defaultPolicy()
	if d.KubernetesVersion != live.KubernetesVersion {
		t.Errorf("defaults.json is from %s, the API server is %s", d.KubernetesVersion, live.KubernetesVersion)
	}
	if got, want := string(encodeDefaults(t, live)), string(encodeDefaults(t, d)); got != want {
		t.Errorf("defaults.json differs from the API server's default policy (go test ./internal/rbac -run TestDefaultsMatchRealAPIServer -update, then review the diff)")
	}
	t.Logf("%d ClusterRoles, %d ClusterRoleBindings, %d Roles, %d RoleBindings match", len(live.ClusterRoles), len(live.ClusterRoleBindings), len(live.Roles), len(live.RoleBindings))
}

// encodeDefaults writes the defaults sorted, one object per line, so diffs stay readable.
func encodeDefaults(t *testing.T, d *defaults) []byte {
	t.Helper()
	slices.SortFunc(d.ClusterRoles, func(a, b *rbacv1.ClusterRole) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(d.ClusterRoleBindings, func(a, b *rbacv1.ClusterRoleBinding) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(d.Roles, func(a, b *rbacv1.Role) int { return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name) })
	slices.SortFunc(d.RoleBindings, func(a, b *rbacv1.RoleBinding) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	var b strings.Builder
	line := func(v any) string {
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(raw)
	}
	b.WriteString("{\n")
	fmt.Fprintf(&b, "  \"kubernetesVersion\": %s,\n  \"source\": %s,\n", line(d.KubernetesVersion), line(d.Source))
	section := func(name string, items []string, last bool) {
		fmt.Fprintf(&b, "  %q: [\n", name)
		for i, it := range items {
			b.WriteString("    " + it)
			if i < len(items)-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
		b.WriteString("  ]")
		if !last {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	var items []string
	for _, x := range d.ClusterRoles {
		items = append(items, line(x))
	}
	section("clusterRoles", items, false)
	items = nil
	for _, x := range d.ClusterRoleBindings {
		items = append(items, line(x))
	}
	section("clusterRoleBindings", items, false)
	items = nil
	for _, x := range d.Roles {
		items = append(items, line(x))
	}
	section("roles", items, false)
	items = nil
	for _, x := range d.RoleBindings {
		items = append(items, line(x))
	}
	section("roleBindings", items, true)
	b.WriteString("}\n")
	return []byte(b.String())
}

// TestCSRApprovalAgreesWithAPIServer asks the real API server to approve a certificate
// signing request for the kube-apiserver-client signer as users holding different roles, and
// compares what it did with what the approve-csr permission says: the authorizer allows the
// approval subresource, then the CertificateApproval admission plugin asks for approve on the
// signer, so patch on everything is not enough.
func TestCSRApprovalAgreesWithAPIServer(t *testing.T) {
	c := testenv.Shared(t)
	cs := kubernetes.NewForConfigOrDie(c.Admin)
	ctx := t.Context()
	const tag = "csrgen"
	approval := []rbacv1.PolicyRule{{Verbs: []string{"update"}, APIGroups: []string{"certificates.k8s.io"}, Resources: []string{"certificatesigningrequests/approval"}}}
	signer := func(names ...string) rbacv1.PolicyRule {
		return rbacv1.PolicyRule{Verbs: []string{"approve"}, APIGroups: []string{"certificates.k8s.io"}, Resources: []string{"signers"}, ResourceNames: names}
	}
	cases := []struct {
		name string
		// roles are bound to the user by one ClusterRoleBinding each.
		roles [][]rbacv1.PolicyRule
	}{
		{"get, patch and delete on everything", [][]rbacv1.PolicyRule{{{Verbs: []string{"get", "patch", "delete"}, APIGroups: []string{"*"}, Resources: []string{"*"}}}}},
		{"the approval subresource alone", [][]rbacv1.PolicyRule{approval}},
		{"approve on the signer alone", [][]rbacv1.PolicyRule{{signer()}}},
		{"approval and the signer by name", [][]rbacv1.PolicyRule{append(slices.Clone(approval), signer("kubernetes.io/kube-apiserver-client"))}},
		{"approval and the signer's domain", [][]rbacv1.PolicyRule{append(slices.Clone(approval), signer("kubernetes.io/*"))}},
		{"approval and another signer", [][]rbacv1.PolicyRule{append(slices.Clone(approval), signer("example.com/issuer"))}},
		{"approval and the signer through two bindings", [][]rbacv1.PolicyRule{approval, {signer()}}},
		{"patch on every resource and approve on every signer", [][]rbacv1.PolicyRule{{{Verbs: []string{"patch"}, APIGroups: []string{"*"}, Resources: []string{"*"}},
			{Verbs: []string{"approve"}, APIGroups: []string{"*"}, Resources: []string{"*"}}}}},
	}
	user := func(i int) string { return fmt.Sprintf("%s-u%d", tag, i) }
	for i, tc := range cases {
		for j, rules := range tc.roles {
			name := fmt.Sprintf("%s-%d-%d", tag, i, j)
			if _, err := cs.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
				Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user(i)}},
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: tag}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitForAuthorizer(t, cs, tag, tag)

	p := NewPolicy(liveSnapshot(t, c), Options{})
	perm := PermissionByID("approve-csr")
	approvals := 0
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			csr := clientCSR(t, cs, fmt.Sprintf("%s-%d", tag, i))
			csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
				Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "Test", Message: "approved by " + user(i)})
			cfg := rest.CopyConfig(c.Admin)
			cfg.Impersonate = rest.ImpersonationConfig{UserName: user(i), Groups: []string{"system:authenticated"}}
			csrs := kubernetes.NewForConfigOrDie(cfg).CertificatesV1().CertificateSigningRequests()
			// Approving takes an update or a patch of the approval subresource: try both.
			_, err := csrs.UpdateApproval(ctx, csr.Name, csr, metav1.UpdateOptions{})
			if apierrors.IsForbidden(err) {
				t.Logf("update: %v", err)
				patch, _ := json.Marshal(map[string]any{"status": map[string]any{"conditions": csr.Status.Conditions}})
				_, err = csrs.Patch(ctx, csr.Name, types.MergePatchType, patch, metav1.PatchOptions{}, "approval")
				if err != nil {
					t.Logf("patch: %v", err)
				}
			}
			if err != nil && !apierrors.IsForbidden(err) {
				t.Fatalf("approving as %s: %v", user(i), err)
			}
			server := err == nil
			if server {
				approvals++
			}
			u := User{Name: user(i), Groups: []string{"system:authenticated"}}
			ours := perm.Usable(p, u) && slices.ContainsFunc(p.Grants(u), func(g Grant) bool { return len(perm.Allows(&g.Rule, g.Binding.ClusterWide())) > 0 })
			if ours != server {
				t.Errorf("the API server approved=%v (%v); Redoubt's approve-csr holds=%v", server, err, ours)
			}
		})
	}
	if approvals == 0 || approvals == len(cases) {
		t.Errorf("%d of %d approvals went through: the cases do not exercise both answers", approvals, len(cases))
	}
}

// clientCSR creates a certificate signing request for the kube-apiserver-client signer, with a
// fresh key, and returns it as the API server stored it.
func clientCSR(t *testing.T, cs kubernetes.Interface, name string) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(crand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: name, Organization: []string{"developers"}}}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr := &certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: certificatesv1.CertificateSigningRequestSpec{Request: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			SignerName: certificatesv1.KubeAPIServerClientSignerName, Usages: []certificatesv1.KeyUsage{certificatesv1.UsageClientAuth}}}
	got, err := cs.CertificatesV1().CertificateSigningRequests().Create(t.Context(), csr, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return got
}
