package checks

import (
	"testing"

	"redoubt.dev/redoubt/internal/config"
)

// Each case is a workload and the findings one check must report on it: nothing more.
func TestWorkloadChecks(t *testing.T) {
	tests := []struct {
		check string
		name  string
		docs  []string
		cfg   *config.Config
		want  []string
	}{
		{"sensitive-host-path", "docker socket", []string{pod("p", "containers: [{name: c, image: x}]\nvolumes:\n- {name: s, hostPath: {path: /var/run/docker.sock}}")},
			nil, []string{`ns/Pod/p: volume "s" mounts host path /var/run/docker.sock (the Docker socket: run any container, privileged)`}},
		{"sensitive-host-path", "below the kubelet's directory, unclean path", []string{pod("p", "containers: [{name: c, image: x}]\nvolumes:\n- {name: k, hostPath: {path: /var/lib//kubelet/pods/../pki}}")},
			nil, []string{`ns/Pod/p: volume "k" mounts host path /var/lib//kubelet/pods/../pki (the kubelet's client and serving keys)`}},
		{"sensitive-host-path", "root", []string{pod("p", "containers: [{name: c, image: x}]\nvolumes:\n- {name: r, hostPath: {path: /}}")},
			nil, []string{`ns/Pod/p: volume "r" mounts host path / (the node's whole filesystem)`}},
		{"sensitive-host-path", "an application directory is not sensitive", []string{pod("p", "containers: [{name: c, image: x}]\nvolumes:\n- {name: d, hostPath: {path: /srv/data}}\n- {name: l, hostPath: {path: /var/log/app}}")},
			nil, nil},
		{"writable-host-path", "writable and read-only mounts", []string{pod("p", `containers:
- name: c
  image: x
  volumeMounts:
  - {name: d, mountPath: /data}
  - {name: ro, mountPath: /ro, readOnly: true}
  - {name: e, mountPath: /e}
initContainers:
- name: i
  image: x
  volumeMounts: [{name: d, mountPath: /init}]
volumes:
- {name: d, hostPath: {path: /srv/data}}
- {name: ro, hostPath: {path: /etc/ssl}}
- {name: e, emptyDir: {}}`)},
			nil, []string{`ns/Pod/p[c]: container "c" mounts host path /srv/data writable at /data`, `ns/Pod/p[i]: init container "i" mounts host path /srv/data writable at /init`}},
		{"dangerous-capabilities", "prefix, case and duplicates", []string{pod("p", `containers:
- name: c
  image: x
  securityContext: {capabilities: {add: [cap_sys_admin, SYS_ADMIN, CHOWN, NET_RAW]}}
ephemeralContainers:
- name: dbg
  image: x
  securityContext: {capabilities: {add: [SYS_PTRACE]}}`)},
			nil, []string{`ns/Pod/p[c]: container "c" adds SYS_ADMIN: mount filesystems, create namespaces: nearly root; NET_RAW: forge and sniff packets`,
				`ns/Pod/p[dbg]: ephemeral container "dbg" adds SYS_PTRACE: read and modify other processes' memory`}},
		{"writable-root-filesystem", "only containers without readOnlyRootFilesystem", []string{pod("p", `containers:
- {name: ro, image: x, securityContext: {readOnlyRootFilesystem: true}}
- {name: rw, image: x, securityContext: {readOnlyRootFilesystem: false}}
- {name: unset, image: x}`)},
			nil, []string{`ns/Pod/p[rw]: container "rw" does not set readOnlyRootFilesystem: true`, `ns/Pod/p[unset]: container "unset" does not set readOnlyRootFilesystem: true`}},
		{"missing-resource-limits", "cpu, memory, both", []string{pod("p", `containers:
- {name: ok, image: x, resources: {limits: {cpu: 1, memory: 1Gi}}}
- {name: nocpu, image: x, resources: {limits: {memory: 1Gi}, requests: {cpu: 1}}}
- {name: none, image: x}`)},
			nil, []string{`ns/Pod/p[nocpu]: container "nocpu" has no cpu limit`, `ns/Pod/p[none]: container "none" has no cpu or memory limit`}},
		{"image-mutable-tag", "latest, none, pinned, registry port", []string{pod("p", `containers:
- {name: latest, image: "reg.internal:5000/app:latest"}
- {name: none, image: "reg.internal:5000/app"}
- {name: pinned, image: "app:latest@sha256:0000000000000000000000000000000000000000000000000000000000000000"}
- {name: tagged, image: "app:1.2"}`)},
			nil, []string{`ns/Pod/p[latest]: container "latest" runs image "reg.internal:5000/app:latest" by the mutable tag latest`,
				`ns/Pod/p[none]: container "none" runs image "reg.internal:5000/app" with no tag, which pulls latest`}},
		{"image-floating-tag", "floating tags, full versions, commits, pins and allowed repositories", []string{pod("p", `containers:
- {name: alpine, image: "redis:alpine"}
- {name: major, image: "node:20"}
- {name: minor, image: "golang:1.25-bookworm"}
- {name: word, image: "debian:stable-slim"}
- {name: full, image: "redis:7.2.5-alpine"}
- {name: v, image: "reg.internal:5000/exporter:v1.8.2"}
- {name: date, image: "app:2024.06.01"}
- {name: commit, image: "app:sha-1a2b3c4"}
- {name: commit2, image: "app:main-9f8e7d6c5b"}
- {name: pinned, image: "node:20@sha256:0000000000000000000000000000000000000000000000000000000000000000"}
- {name: latest, image: "app:latest"}
- {name: pg, image: "reg.internal/library/postgres:16.4"}`)},
			&config.Config{PSSLevel: "restricted", FloatingTags: config.FloatingTags{VersionParts: 3, Allow: []string{"reg.internal/library/postgres:*"}}},
			[]string{`ns/Pod/p[alpine]: container "alpine" runs image "redis:alpine" by the floating tag "alpine", which is not a full version (such as 1.25.3)`,
				`ns/Pod/p[major]: container "major" runs image "node:20" by the floating tag "20", which is not a full version (such as 1.25.3)`,
				`ns/Pod/p[minor]: container "minor" runs image "golang:1.25-bookworm" by the floating tag "1.25-bookworm", which is not a full version (such as 1.25.3)`,
				`ns/Pod/p[word]: container "word" runs image "debian:stable-slim" by the floating tag "stable-slim", which is not a full version (such as 1.25.3)`}},
		{"image-floating-tag", "on by default", []string{pod("p", "containers: [{name: c, image: \"redis:alpine\"}]")},
			nil, []string{`ns/Pod/p[c]: container "c" runs image "redis:alpine" by the floating tag "alpine", which is not a full version (such as 1.25.3)`}},
		{"image-floating-tag", "versionParts 2 takes 16.4; 0 is off", []string{pod("p", "containers: [{name: c, image: \"postgres:16.4\"}, {name: d, image: \"node:20\"}]")},
			&config.Config{PSSLevel: "restricted", FloatingTags: config.FloatingTags{VersionParts: 2}},
			[]string{`ns/Pod/p[d]: container "d" runs image "node:20" by the floating tag "20", which is not a full version (such as 1.25)`}},
		{"image-floating-tag", "off", []string{pod("p", "containers: [{name: d, image: \"node:20\"}]")},
			&config.Config{PSSLevel: "restricted"}, nil},
		{"image-without-digest", "tag only", []string{pod("p", `containers:
- {name: tagged, image: "app:1.2"}
- {name: pinned, image: "app:1.2@sha256:0000000000000000000000000000000000000000000000000000000000000000"}
- {name: latest, image: "app:latest"}`)},
			nil, []string{`ns/Pod/p[tagged]: container "tagged" runs image "app:1.2" without a digest`}},
		{"image-registry-not-allowed", "allowlist by host, glob and repository prefix", []string{pod("p", `containers:
- {name: a, image: "reg.internal/team/app:1"}
- {name: b, image: "mirror.corp.internal:5000/x:1"}
- {name: c, image: "other.internal/team/app:1"}
- {name: d, image: "alpine:3"}
- {name: e, image: "vendor.internal/approved/tool:1"}
- {name: f, image: "vendor.internal/unapproved/tool:1"}`)},
			&config.Config{PSSLevel: "restricted", AllowedRegistries: []string{"reg.internal", "*.corp.internal:5000", "vendor.internal/approved"}},
			[]string{`ns/Pod/p[c]: container "c" runs image "other.internal/team/app:1" from registry other.internal, which is not in registries.allowed`,
				`ns/Pod/p[d]: container "d" runs image "alpine:3" from the runtime's default registry (the reference names none), which is not in registries.allowed`,
				`ns/Pod/p[f]: container "f" runs image "vendor.internal/unapproved/tool:1" from registry vendor.internal, which is not in registries.allowed`}},
		{"image-registry-not-allowed", "off without an allowlist", []string{pod("p", "containers: [{name: d, image: alpine}]")}, nil, nil},
		{"secret-in-env", "names, shapes and false friends", []string{pod("p", `containers:
- name: c
  image: x
  env:
  - {name: DB_PASSWORD, value: "hunter2-xyz"}
  - {name: API_KEY, valueFrom: {secretKeyRef: {name: s, key: k}}}
  - {name: TOKEN_TTL, value: "3600"}
  - {name: PASSWORD_FILE, value: /run/secrets/pw}
  - {name: SECRET_ENABLED, value: "true"}
  - {name: AUTH_TOKEN, value: "$(FROM_ENV)"}
  - {name: GREETING, value: "postgres://app:s3cretpw@db:5432/app"}
  - {name: AWS_KEY_ID, value: AKIAABCDEFGHIJKLMNOP}
  - {name: PWD, value: /app}
  - {name: TOKEN_URL, value: "https://auth.example.com/oauth/token"}
  - {name: OAUTH_TOKEN_ENDPOINT, value: "https://login.example.com/realms/shop/protocol/openid-connect/token"}
  - {name: AUTH_TOKEN_AUDIENCE, value: api.example.com}
  - {name: AUTH_SERVER, value: "auth.shop-api.svc.cluster.local:8443"}
  - {name: API_TOKEN, value: "https://hooks.example.com/x?token=Zm9vYmFyYmF6cXV4"}
  - {name: SECRET_KEY, value: "Kx9.mP2.qR7.zT4"}`)},
			nil, []string{`ns/Pod/p[c]: container "c" sets env API_TOKEN to a literal value that looks like a credential`,
				`ns/Pod/p[c]: container "c" sets env AWS_KEY_ID to a literal AWS access key`,
				`ns/Pod/p[c]: container "c" sets env DB_PASSWORD to a literal value that looks like a credential`,
				`ns/Pod/p[c]: container "c" sets env GREETING to a literal URL with an embedded password`,
				`ns/Pod/p[c]: container "c" sets env SECRET_KEY to a literal value that looks like a credential`}},
		{"automount-service-account-token", "unbound accounts only", []string{
			pod("default-sa", "containers: [{name: c, image: x}]"),
			pod("off", "automountServiceAccountToken: false\ncontainers: [{name: c, image: x}]"),
			pod("bound", "serviceAccountName: reader\ncontainers: [{name: c, image: x}]"),
			pod("sa-off", "serviceAccountName: quiet\ncontainers: [{name: c, image: x}]"),
			pod("sa-off-pod-on", "serviceAccountName: quiet\nautomountServiceAccountToken: true\ncontainers: [{name: c, image: x}]"),
			"apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: quiet, namespace: ns}\nautomountServiceAccountToken: false",
			"apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: rb, namespace: ns}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}\nsubjects: [{kind: ServiceAccount, name: reader}]",
		}, nil, []string{`ns/Pod/default-sa: pods mount a token for service account "default", which no RoleBinding or ClusterRoleBinding grants anything`,
			`ns/Pod/sa-off-pod-on: pods mount a token for service account "quiet", which no RoleBinding or ClusterRoleBinding grants anything`}},
		{"automount-service-account-token", "bound through the namespace's service-account group", []string{
			pod("p", "containers: [{name: c, image: x}]"),
			"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: all}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}\nsubjects: [{kind: Group, name: \"system:serviceaccounts:ns\", apiGroup: rbac.authorization.k8s.io}]",
		}, nil, nil},
		{"automount-service-account-token", "a binding for every account says nothing about this one", []string{
			pod("p", "containers: [{name: c, image: x}]"),
			"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: discovery}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:service-account-issuer-discovery}\nsubjects: [{kind: Group, name: \"system:serviceaccounts\", apiGroup: rbac.authorization.k8s.io}]",
		}, nil, []string{`ns/Pod/p: pods mount a token for service account "default", which no RoleBinding or ClusterRoleBinding grants anything`}},
		{"default-service-account", "default account with a token", []string{
			pod("a", "containers: [{name: c, image: x}]"),
			pod("b", "automountServiceAccountToken: false\ncontainers: [{name: c, image: x}]"),
			pod("c", "serviceAccountName: own\ncontainers: [{name: c, image: x}]"),
		}, nil, []string{`ns/Pod/a: runs as the default service account of namespace "ns" with its token mounted`}},
		{"default-namespace", "namespace default", []string{
			"apiVersion: v1\nkind: Pod\nmetadata: {name: d}\nspec: {containers: [{name: c, image: x}]}",
			pod("elsewhere", "containers: [{name: c, image: x}]"),
		}, nil, []string{`default/Pod/d: workload is in the default namespace`}},
		{"exposed-workload", "load balancer, node port, ingress; not cluster IP", []string{
			deploymentOf("web", "containers: [{name: c, image: x}]"),
			"apiVersion: v1\nkind: Service\nmetadata: {name: lb, namespace: ns}\nspec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80}]}",
			"apiVersion: v1\nkind: Service\nmetadata: {name: np, namespace: ns}\nspec: {type: NodePort, selector: {app: web}, ports: [{port: 80}]}",
			"apiVersion: v1\nkind: Service\nmetadata: {name: internal, namespace: ns}\nspec: {selector: {app: web}, ports: [{port: 80}]}",
			"apiVersion: v1\nkind: Service\nmetadata: {name: other, namespace: ns}\nspec: {type: LoadBalancer, selector: {app: other}, ports: [{port: 80}]}",
			"apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: ing, namespace: ns}\nspec:\n  rules:\n  - host: a.example\n    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: internal, port: {number: 80}}}}]}",
		}, nil, []string{`ns/Deployment/web: exposed by Ingress "ing" for hosts "a.example"`, `ns/Deployment/web: exposed by LoadBalancer Service "lb"`, `ns/Deployment/web: exposed by NodePort Service "np"`}},
	}
	for _, tc := range tests {
		t.Run(tc.check+"/"+tc.name, func(t *testing.T) {
			equal(t, runCheck(t, tc.check, snapshotOf(t, tc.docs...), tc.cfg), tc.want)
		})
	}
}

func TestNamespaceChecks(t *testing.T) {
	docs := []string{
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: none}",
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: priv, labels: {pod-security.kubernetes.io/enforce: privileged, pod-security.kubernetes.io/warn: restricted}}",
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: bogus, labels: {pod-security.kubernetes.io/enforce: strict}}",
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: good, labels: {pod-security.kubernetes.io/enforce: baseline}}",
		"apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: good}\nspec: {containers: [{name: c, image: x}]}",
		"apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: cilium}\nspec: {containers: [{name: c, image: x}]}",
		"apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: c, namespace: cilium}\nspec: {}",
		"apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: covered}\nspec: {containers: [{name: c, image: x}]}",
		"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: covered}\nspec: {podSelector: {}}",
	}
	s := snapshotOf(t, docs...)
	equal(t, runCheck(t, "namespace-pss-not-enforced", s, nil), []string{
		`bogus/Namespace/bogus: namespace "bogus" has an invalid pod-security.kubernetes.io/enforce label "strict", which the API server treats as privileged`,
		`none/Namespace/none: namespace "none" has no pod-security.kubernetes.io/enforce label`,
		`priv/Namespace/priv: namespace "priv" enforces only the privileged level; warn=restricted`,
	})
	// Implied namespaces (only named by objects) have unknown labels, so they are not judged; the
	// namespace with a NetworkPolicy, and the one governed by Cilium, are covered.
	got := runCheck(t, "namespace-without-network-policy", s, nil)
	equal(t, got, []string{`good/Namespace/good: namespace "good" runs 1 workload(s) and has no NetworkPolicy`})
}
