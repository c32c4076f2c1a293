package auditlog

import (
	"encoding/json"
	"fmt"

	"redoubt.dev/redoubt/internal/finding"
)

// Changes to admission control.
//
// Forbids nothing by itself, and reports every successful create, update, patch, delete or
// deletecollection of ValidatingWebhookConfigurations, MutatingWebhookConfigurations,
// ValidatingAdmissionPolicies and their bindings, and MutatingAdmissionPolicies and their
// bindings (admissionregistration.k8s.io), by anyone but the API server itself. Admission is
// where policy is enforced: deleting a webhook, narrowing its rules or setting failurePolicy
// Ignore turns enforcement off for every later request, and a new mutating webhook can inject
// containers into every pod (MITRE ATT&CK T1562.001 Impair Defenses: Disable or Modify Tools).
// Severity medium for a create or change; high for a delete or a webhook written with
// failurePolicy: Ignore (read from the body at level Request).
var admissionChanged = finding.Register(finding.Rule{
	ID:       "audit-admission-webhook-changed",
	Title:    "Admission webhook or policy changed",
	Phase:    finding.PhaseRuntime,
	Severity: finding.Medium,
	Description: "The audit log shows an admission webhook configuration or admission policy created, changed " +
		"or deleted. Admission enforces policy on every request: removing it or letting it fail open turns " +
		"enforcement off; a new mutating webhook can change every pod.",
	Remediation: "Confirm the change with the user named and the owner of the webhook; manage admission " +
		"configuration through the pipeline only, and restrict write access to admissionregistration.k8s.io.",
	References: []string{"mitre:T1562.001"},
})

func init() { register(detectAdmissionChange) }

var admissionResources = map[string]bool{
	"validatingwebhookconfigurations": true, "mutatingwebhookconfigurations": true,
	"validatingadmissionpolicies": true, "validatingadmissionpolicybindings": true,
	"mutatingadmissionpolicies": true, "mutatingadmissionpolicybindings": true,
}

func isAdmission(e *Event) bool {
	return e.ObjectRef != nil && e.ObjectRef.APIGroup == "admissionregistration.k8s.io" &&
		admissionResources[e.ObjectRef.Resource]
}

func detectAdmissionChange(a *Analyzer, e *Event) {
	if !isAdmission(e) || !mutating(e.Verb) || !e.Succeeded() || e.ObjectRef.Subresource == "status" {
		return
	}
	if as, _ := e.Actor(); as == "system:apiserver" {
		return
	}
	res := objectResource(e)
	sev := admissionChanged.Severity
	what := fmt.Sprintf("%s %s: %s", res.Kind, res.Name, e.Verb)
	ev := map[string]any{}
	if e.Verb == "delete" || e.Verb == "deletecollection" {
		sev = finding.High
		what = fmt.Sprintf("%s %s deleted: its enforcement stops", res.Kind, res.Name)
	} else if ignored := failOpen(e.Body()); len(ignored) > 0 {
		sev = finding.High
		what += fmt.Sprintf("; webhooks %v fail open (failurePolicy: Ignore)", ignored)
		ev["failOpen"] = ignored
	}
	a.report(e, hit{rule: admissionChanged, severity: sev, res: res, what: what, evidence: ev, key: e.Verb})
}

// failOpen names the webhooks of a webhook configuration body with failurePolicy Ignore.
func failOpen(body json.RawMessage) []string {
	if len(body) == 0 || body[0] != '{' {
		return nil
	}
	var cfg struct {
		Webhooks []struct {
			Name          string `json:"name"`
			FailurePolicy string `json:"failurePolicy"`
		} `json:"webhooks"`
		Spec struct {
			FailurePolicy string `json:"failurePolicy"`
		} `json:"spec"`
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if json.Unmarshal(body, &cfg) != nil {
		return nil
	}
	var out []string
	for _, w := range cfg.Webhooks {
		if w.FailurePolicy == "Ignore" {
			out = append(out, w.Name)
		}
	}
	if cfg.Spec.FailurePolicy == "Ignore" {
		out = append(out, cfg.Metadata.Name)
	}
	return out
}
