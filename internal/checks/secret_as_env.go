package checks

import (
	"slices"
	"strings"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
)

// secretAsEnv reports containers that take Secrets as environment variables: an env entry with
// valueFrom.secretKeyRef, or an envFrom entry with secretRef. The CIS Kubernetes Benchmark
// (5.4.1) prefers Secrets mounted as files: environment variables are inherited by every child
// process, printed by crash handlers and debug endpoints, logged by many applications at start,
// and never change while the container runs, so a rotated Secret needs a restart. One finding
// per container names every such variable and Secret.
var secretAsEnv = registerWorkload(finding.Rule{
	ID:          "secret-as-env",
	Title:       "Secret taken as an environment variable",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Low,
	References:  []string{"cis:5.4.1"},
	Description: "A container reads a Secret through env.valueFrom.secretKeyRef or envFrom.secretRef. Environment variables leak into child processes, crash reports and logs, and do not follow a rotated Secret until the container restarts.",
	Remediation: "Mount the Secret as a volume (secret volume or projected volume) and have the application read the file; the kubelet updates it when the Secret changes.",
}, func(c *Context, w *inventory.Workload, e *emitter) {
	for ct := range containers(&w.Template.Spec) {
		var what []string
		var secrets []string
		line := 0
		for _, env := range ct.Env {
			if env.ValueFrom == nil || env.ValueFrom.SecretKeyRef == nil {
				continue
			}
			ref := env.ValueFrom.SecretKeyRef
			what = append(what, env.Name+" from Secret "+ref.Name+" key "+ref.Key)
			secrets = append(secrets, ref.Name)
			if line == 0 {
				line = w.EnvLine(ct.Name, env.Name)
			}
		}
		for _, from := range ct.EnvFrom {
			if from.SecretRef == nil {
				continue
			}
			s := "every key of Secret " + from.SecretRef.Name
			if from.Prefix != "" {
				s += " (prefix " + from.Prefix + ")"
			}
			what = append(what, s)
			secrets = append(secrets, from.SecretRef.Name)
		}
		if len(what) == 0 {
			continue
		}
		if line == 0 {
			line = w.ContainerLine(ct.Name)
		}
		slices.Sort(secrets)
		f := e.containerAt(w, ct.Name, line, "%s %q takes Secrets as environment variables: %s", ct.Kind, ct.Name, strings.Join(what, "; "))
		f.Evidence = map[string]any{"secrets": slices.Compact(secrets)}
	}
})
