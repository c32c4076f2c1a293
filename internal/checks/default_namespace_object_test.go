package checks

import "testing"

func TestDefaultNamespaceObject(t *testing.T) {
	tests := []struct {
		name string
		docs []string
		want []string
	}{
		{"objects users create", []string{
			"apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\nspec: {ports: [{port: 80}]}",
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}",
			"apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: default}\nstringData: {password: x}",
			"apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: deployer, namespace: default}",
			"apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: reader, namespace: default}\nrules: []",
			"apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: reader, namespace: default}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}\nsubjects: []",
			"apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web, namespace: default}\nspec: {defaultBackend: {service: {name: web, port: {number: 80}}}}",
			"apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: default}",
		}, []string{
			`default/ConfigMap/settings: ConfigMap "settings" is in the default namespace`,
			`default/Ingress/web: Ingress "web" is in the default namespace`,
			`default/Role/reader: Role "reader" is in the default namespace`,
			`default/RoleBinding/reader: RoleBinding "reader" is in the default namespace`,
			`default/Secret/db: Secret "db" is in the default namespace`,
			`default/Service/web: Service "web" is in the default namespace`,
			`default/ServiceAccount/deployer: ServiceAccount "deployer" is in the default namespace`,
			`default/Widget/w: Widget "w" is in the default namespace`,
		}},
		{"what the cluster keeps there, policies, and other namespaces", []string{
			"apiVersion: v1\nkind: Service\nmetadata: {name: kubernetes, namespace: default}\nspec: {ports: [{port: 443}]}",
			"apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default, namespace: default}",
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kube-root-ca.crt, namespace: default}\ndata: {ca.crt: x}",
			"apiVersion: v1\nkind: Secret\nmetadata: {name: default-token-abcde, namespace: default, annotations: {kubernetes.io/service-account.name: default}}\ntype: kubernetes.io/service-account-token",
			"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny-all, namespace: default}\nspec: {podSelector: {}}",
			"apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: deny, namespace: default}\nspec: {}",
			"apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {ports: [{port: 80}]}",
			"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: reader}\nrules: []",
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			equal(t, runCheck(t, "default-namespace-object", snapshotOf(t, tt.docs...), nil), tt.want)
		})
	}
}
