package netpol_test

import (
	"slices"
	"testing"

	"redoubt.dev/redoubt/internal/netpol"
)

// Reach summarises, per workload, what the risk ranking weighs: any namespace, other namespaces
// of the snapshot, outside addresses.
func TestReach(t *testing.T) {
	s := load(t,
		ns("a", "team=a"), ns("b", "team=b"), ns("c", "team=c"),
		deploy("a", "open", "", "http:8080/TCP"),
		deploy("a", "from-b", "role=db", "http:8080/TCP"),
		deploy("a", "from-net", "role=edge", "http:8080/TCP"),
		deploy("a", "closed", "role=secret", "http:8080/TCP"),
		deploy("b", "client", "", ""),
		`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: a}
spec:
  podSelector: {matchLabels: {role: db}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {team: b}}}]`,
		`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: edge, namespace: a}
spec:
  podSelector: {matchLabels: {role: edge}}
  ingress:
  - from: [{ipBlock: {cidr: 10.0.0.0/8}}]`,
		`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: secret, namespace: a}
spec:
  podSelector: {matchLabels: {role: secret}}
  ingress:
  - from: [{podSelector: {}}]`,
	)
	a := netpol.Analyze(s, netpol.Options{})
	reach := func(name string) netpol.Reach { return a.Reach(s.Workload("a", "Deployment", name)) }

	if r := reach("open"); !r.AnyNamespace || !slices.Equal(r.Namespaces, []string{"b", "c"}) || r.Addresses.String() != "0.0.0.0/0,::/0" {
		t.Errorf("not isolated: %+v", r)
	}
	if r := reach("from-b"); r.AnyNamespace || !slices.Equal(r.Namespaces, []string{"b"}) || len(r.Addresses) != 0 {
		t.Errorf("admits namespace b: %+v", r)
	}
	if r := reach("from-net"); r.AnyNamespace || len(r.Namespaces) != 0 || r.Addresses.String() != "10.0.0.0/8" {
		t.Errorf("admits 10.0.0.0/8: %+v", r)
	}
	if r := reach("closed"); r.AnyNamespace || len(r.Namespaces) != 0 || len(r.Addresses) != 0 {
		t.Errorf("admits its own namespace only: %+v", r)
	}
}
