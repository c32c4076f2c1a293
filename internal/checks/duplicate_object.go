package checks

import "redoubt.dev/redoubt/internal/finding"

// duplicateObject reports an object given more than once in one set of manifests: the same API
// group, kind, namespace and name (a namespace left unset counts as the one it will be applied
// to). kubectl apply applies every copy in turn, so the last one read is what the cluster keeps
// and every earlier copy is silently overwritten; a reviewer who reads an earlier copy (a
// hardened securityContext, a narrower Role) approves what will not run. Redoubt audits the last
// copy, as the cluster would hold it, and reports each replaced copy at its own line.
var duplicateObject = register(finding.Rule{
	ID:          "duplicate-object",
	Title:       "Object defined more than once",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Medium,
	Description: "The same object (group, kind, namespace and name) is defined more than once in the input. kubectl apply keeps the last copy and silently discards the others, so what a reviewer reads in an earlier copy is not what runs.",
	Remediation: "Keep one definition of the object: delete the other copies, or give them distinct names or namespaces.",
}, func(c *Context, e *emitter) {
	for _, d := range c.Snapshot.Duplicates {
		f := e.object(d.Namespace, d.Kind, d.Name, d.Origin, "%s %q is defined again at %s; that later copy is the one applied (as kubectl apply does) and this one is discarded",
			d.Kind, d.Name, d.Kept.String())
		f.Evidence = map[string]any{"apiVersion": d.APIVersion, "kept": d.Kept.String()}
	}
})
