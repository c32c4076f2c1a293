package netpol_test

import (
	"bytes"
	"strings"
	"testing"

	"redoubt.dev/redoubt/internal/netpol"
)

func TestExplainNamesEveryDecidingRule(t *testing.T) {
	docs := append(append([]string(nil), base...), `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api, namespace: prod}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {env: dev}}}, {podSelector: {matchLabels: {app: web}}}]
    ports: [{port: http}, {port: 9100}]`, `
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: guard}
spec:
  priority: 3
  subject: {namespaces: {matchLabels: {env: prod}}}
  ingress:
  - {name: no-metrics, action: Deny, from: [{namespaces: {}}], ports: [{portNumber: {protocol: TCP, port: 9100}}]}
  - {name: to-np, action: Pass, from: [{namespaces: {}}]}`)
	a := netpol.Analyze(load(t, docs...), netpol.Options{})
	src, _ := a.Resolve("prod/web")
	dst, _ := a.Resolve("prod/api")
	ex := a.Explain(src, dst)
	if got := ex.Allowed.String(); got != "TCP 9090" {
		t.Fatalf("allowed %s, want TCP 9090", got)
	}
	var buf bytes.Buffer
	if err := netpol.WriteExplanation(&buf, ex, nil); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"prod/web[Deployment] => prod/api[Deployment]: TCP 9090",
		`deny  AdminNetworkPolicy guard priority 3 (`, `estate.yaml:96) spec.ingress[0] "no-metrics"`,
		`spec.ingress[0] "no-metrics": from[0] namespaces {}; ports[0] TCP 9100 => TCP 9100`,
		`pass  AdminNetworkPolicy guard priority 3`,
		`allow NetworkPolicy prod/api (`,
		`spec.ingress[0]: from[1] podSelector {app=web}; ports[0] TCP http; ports[1] TCP 9100 => TCP 9090 (of TCP 9090,9100; the rest was decided by rules of higher precedence)`,
		"egress from prod/web[Deployment]: all\n  not isolated: no NetworkPolicy selects it for egress",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("explanation lacks %q:\n%s", want, out)
		}
	}
	buf.Reset()
	pp := netpol.PortProto{Protocol: netpol.TCP, Port: 9100}
	netpol.WriteExplanation(&buf, ex, &pp)
	if !strings.Contains(buf.String(), "9100/TCP denied") || strings.Contains(buf.String(), "allow NetworkPolicy") && !strings.Contains(buf.String(), "already decided") {
		t.Errorf("per-port explanation:\n%s", buf.String())
	}
	if why := ex.Ingress.DenyReason(pp.Conns()); !strings.Contains(why, `denied by AdminNetworkPolicy guard priority 3`) {
		t.Errorf("deny reason %q", why)
	}
}

func TestExposure(t *testing.T) {
	docs := append(append([]string(nil), base...), `
apiVersion: v1
kind: Service
metadata: {name: web, namespace: prod}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 443, targetPort: http}]`, `
apiVersion: v1
kind: Service
metadata: {name: api, namespace: prod}
spec:
  selector: {app: api}
  ports: [{port: 80, targetPort: 9090}]`, `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: api, namespace: prod}
spec:
  rules: [{http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: api, port: {number: 80}}}}]}}]`, `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api, namespace: prod}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {env: dev}}}]
  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ingress-nginx}}}]
    ports: [{port: 9090}]`, `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: prod}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}}], ports: [{port: 8080}]}]`)
	a := netpol.Analyze(load(t, docs...), netpol.Options{})
	xs := map[string]netpol.Exposure{}
	for _, x := range a.Exposures(netpol.DefaultIngressController) {
		xs[netpol.WorkloadName(x.Workload)] = x
	}
	api := xs["prod/api[Deployment]"]
	if len(api.OtherNamespaces) != 1 || api.OtherNamespaces[0].Peer.String() != "dev/web[Deployment]" || !api.AnyNamespace.IsEmpty() {
		t.Errorf("api from other namespaces: %+v, any namespace %s", api.OtherNamespaces, api.AnyNamespace)
	}
	if len(api.External) != 1 || !api.External[0].Open || !strings.Contains(api.External[0].From, "ingress-nginx") || api.External[0].Port.String() != "9090/TCP" {
		t.Errorf("api through its Ingress: %+v", api.External)
	}
	web := xs["prod/web[Deployment]"]
	if len(web.External) != 1 || !web.External[0].Open || web.External[0].From != "0.0.0.0-9.255.255.255,11.0.0.0-255.255.255.255" {
		t.Errorf("web through its LoadBalancer: %+v", web.External)
	}
	tool := xs["other/tool[Deployment]"]
	if !tool.AnyNamespace.IsAll() || len(tool.Addresses) != 1 || tool.Addresses[0].Peer.String() != "0.0.0.0/0,::/0" {
		t.Errorf("an unprotected workload: any namespace %s, addresses %+v", tool.AnyNamespace, tool.Addresses)
	}
	// With the controller's namespace labelled otherwise, the Ingress path is blocked.
	blocked := a.Exposure(api.Workload, netpol.IngressController{Namespace: "ingress", Labels: map[string]string{"app": "nginx"}})
	if len(blocked.External) != 1 || blocked.External[0].Open {
		t.Errorf("ingress from another controller should be blocked: %+v", blocked.External)
	}
}

func TestDiffAddresses(t *testing.T) {
	oldDocs := append(append([]string(nil), base...), `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: prod}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8}}], ports: [{port: 443}]}]`)
	newDocs := append(append([]string(nil), base...), `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: prod}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}, {ipBlock: {cidr: 192.168.0.0/16}}], ports: [{port: 443}]}]`)
	old := netpol.Analyze(load(t, oldDocs...), netpol.Options{})
	nw := netpol.Analyze(load(t, newDocs...), netpol.Options{})
	var buf bytes.Buffer
	netpol.WriteChanges(&buf, netpol.Diff(old, nw))
	want := "- prod/web[Deployment] => 10.1.0.0/16 : TCP 443\n+ prod/web[Deployment] => 192.168.0.0/16 : TCP 443\n"
	if buf.String() != want {
		t.Errorf("diff:\n%s\nwant:\n%s", buf.String(), want)
	}
}
