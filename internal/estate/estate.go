// Package estate writes synthetic but realistic Kubernetes estates as manifests, for benchmarks
// and load tests: namespaces of workloads of every kind, each with a Service, NetworkPolicies,
// service accounts and RBAC, with the mix of good and bad settings real estates have.
package estate

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Options size the estate.
type Options struct {
	Workloads  int
	Namespaces int
	// FilesPerNamespace splits each namespace's manifests over this many files (1 when zero).
	FilesPerNamespace int
}

// Write generates the estate as YAML files under dir and returns the number of objects written.
func Write(dir string, o Options) (int, error) {
	if o.Namespaces <= 0 {
		o.Namespaces = 1
	}
	if o.FilesPerNamespace <= 0 {
		o.FilesPerNamespace = 1
	}
	objects := 0
	perNS := (o.Workloads + o.Namespaces - 1) / o.Namespaces
	w := 0
	for n := 0; n < o.Namespaces && w < o.Workloads; n++ {
		ns := fmt.Sprintf("team-%03d", n)
		nsDir := filepath.Join(dir, ns)
		if err := os.MkdirAll(nsDir, 0o755); err != nil {
			return objects, err
		}
		files := make([]*os.File, o.FilesPerNamespace)
		for i := range files {
			f, err := os.Create(filepath.Join(nsDir, fmt.Sprintf("part-%02d.yaml", i)))
			if err != nil {
				return objects, err
			}
			files[i] = f
		}
		objects += writeNamespace(files[0], ns, n)
		for i := 0; i < perNS && w < o.Workloads; i++ {
			objects += writeWorkload(files[i%len(files)], ns, i, w)
			w++
		}
		for _, f := range files {
			if err := f.Close(); err != nil {
				return objects, err
			}
		}
	}
	return objects, nil
}

func writeNamespace(f io.Writer, ns string, n int) int {
	enforce := []string{"restricted", "baseline", "privileged", ""}[n%4]
	labels := ""
	if enforce != "" {
		labels = fmt.Sprintf("\n  labels:\n    pod-security.kubernetes.io/enforce: %s", enforce)
	}
	fmt.Fprintf(f, `apiVersion: v1
kind: Namespace
metadata:
  name: %[1]s%[2]s
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
  namespace: %[1]s
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: app
  namespace: %[1]s
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: config-reader
  namespace: %[1]s
rules:
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: config-reader
  namespace: %[1]s
subjects:
- kind: ServiceAccount
  name: app
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: config-reader
---
`, ns, labels)
	return 5
}

// writeWorkload writes one workload of a kind chosen by i, its Service and a NetworkPolicy.
func writeWorkload(f io.Writer, ns string, i, global int) int {
	kinds := []string{"Deployment", "Deployment", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}
	kind := kinds[i%len(kinds)]
	name := fmt.Sprintf("svc-%04d", i)
	good := global%3 != 0
	sc := `          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL]}`
	podSC := `      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        seccompProfile: {type: RuntimeDefault}
`
	if !good {
		sc = `          securityContext:
            privileged: ` + fmt.Sprint(global%2 == 0) + `
            capabilities: {add: [NET_ADMIN]}`
		podSC = ""
	}
	image := fmt.Sprintf("registry.estate.internal/%s/%s:1.%d.%d", ns, name, global%10, global%7)
	if global%5 == 0 {
		image = fmt.Sprintf("registry.estate.internal/%s/%s:latest", ns, name)
	}
	volumes := ""
	mounts := ""
	if global%11 == 0 {
		volumes = "      volumes:\n      - name: host\n        hostPath: {path: /var/log}\n"
		mounts = "          volumeMounts:\n          - {name: host, mountPath: /host}\n"
	}
	env := ""
	if global%13 == 0 {
		env = "          env:\n          - {name: DB_PASSWORD, value: not-a-real-password}\n"
	}
	template := fmt.Sprintf(`    metadata:
      labels:
        app: %[1]s
        tier: %[2]s
    spec:
      serviceAccountName: app
%[3]s      containers:
        - name: main
          image: %[4]s
          ports:
          - {name: http, containerPort: 8080}
          resources:
            limits: {cpu: 500m, memory: 256Mi}
%[5]s
%[6]s%[7]s%[8]s`, name, []string{"web", "api", "worker"}[i%3], podSC, image, sc, mounts, env, volumes)
	switch kind {
	case "CronJob":
		fmt.Fprintf(f, "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n  schedule: \"*/5 * * * *\"\n  jobTemplate:\n    spec:\n      template:\n%s", name, ns, indent(template+"      restartPolicy: OnFailure\n", "    "))
	case "Job":
		fmt.Fprintf(f, "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n  template:\n%s      restartPolicy: Never\n", name, ns, template)
	default:
		replicas := ""
		if kind != "DaemonSet" {
			replicas = "  replicas: 2\n"
		}
		fmt.Fprintf(f, "apiVersion: apps/v1\nkind: %s\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n%s  selector:\n    matchLabels: {app: %s}\n  template:\n%s", kind, name, ns, replicas, name, template)
	}
	svcType := "ClusterIP"
	if global%17 == 0 {
		svcType = "LoadBalancer"
	}
	fmt.Fprintf(f, `---
apiVersion: v1
kind: Service
metadata:
  name: %[1]s
  namespace: %[2]s
spec:
  type: %[3]s
  selector: {app: %[1]s}
  ports:
  - {name: http, port: 80, targetPort: http}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: %[1]s
  namespace: %[2]s
spec:
  podSelector:
    matchLabels: {app: %[1]s}
  ingress:
  - from:
    - podSelector:
        matchLabels: {tier: web}
    ports:
    - {port: http}
---
`, name, ns, svcType)
	return 3
}

func indent(s, prefix string) string {
	out := ""
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out += prefix + s[start:i+1]
			start = i + 1
		}
	}
	if start < len(s) {
		out += prefix + s[start:]
	}
	return out
}
