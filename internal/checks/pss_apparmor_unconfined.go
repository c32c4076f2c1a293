package checks

import "redoubt.dev/redoubt/internal/finding"

// appArmorUnconfined reports the Pod Security Standards check "appArmorProfile", evaluated by the upstream
// pod-security-admission implementation. The standard's rule:
//
// On supported hosts, the 'runtime/default' AppArmor profile is applied by default. The baseline
// policy should prevent overriding or disabling the default AppArmor profile.
//
// Restricted fields: spec.securityContext.appArmorProfile.type and the same field of every
// container, and the annotations container.apparmor.security.beta.kubernetes.io/*.
// Allowed values: RuntimeDefault, Localhost, undefined (annotations: runtime/default,
// localhost/*, empty, undefined).
var appArmorUnconfined = registerPSS("appArmorProfile", finding.Rule{
	ID:          "apparmor-unconfined",
	Title:       "AppArmor disabled",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Medium,
	References:  []string{pssReference("appArmorProfile")},
	Description: "Disabling AppArmor removes the mandatory access control profile the runtime applies to containers. Pod Security Standards (baseline) forbid it.",
	Remediation: "Remove appArmorProfile (or the AppArmor annotation), or set it to RuntimeDefault or a Localhost profile.",
})
