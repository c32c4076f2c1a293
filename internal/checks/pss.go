package checks

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
)

// The Pod Security Standards are evaluated by k8s.io/pod-security-admission/policy, the
// reference implementation the API server's admission plugin runs. Redoubt does not
// re-implement a single rule: each PSS check below wraps one upstream check by its ID, and this
// file only chooses which upstream checks apply at the reported level and version, exactly as
// the upstream evaluator does (a restricted check overrides the baseline checks it names).

var upstreamChecks = func() map[policy.CheckID]policy.Check {
	m := map[policy.CheckID]policy.Check{}
	for _, c := range policy.DefaultChecks() {
		m[c.ID] = c
	}
	return m
}()

// pssReference is the reference for an upstream check: pss:<level>:<check ID>.
func pssReference(id policy.CheckID) string {
	c, ok := upstreamChecks[id]
	if !ok {
		panic(fmt.Sprintf("checks: no upstream Pod Security check %q", id))
	}
	return fmt.Sprintf("pss:%s:%s", c.Level, c.ID)
}

// versionedCheck returns the revision of an upstream check in force at version v.
func versionedCheck(c policy.Check, v api.Version) (policy.VersionedCheck, bool) {
	var found *policy.VersionedCheck
	for i := range c.Versions {
		vc := &c.Versions[i]
		if v.Latest() || !v.Older(vc.MinimumVersion) {
			found = vc
		}
	}
	if found == nil {
		return policy.VersionedCheck{}, false
	}
	return *found, true
}

// pssApplies reports whether the upstream check is part of the given level at version v, after
// restricted checks have overridden the baseline checks they replace.
func pssApplies(id policy.CheckID, lv api.LevelVersion) (policy.VersionedCheck, bool) {
	c := upstreamChecks[id]
	if lv.Level == api.LevelPrivileged || (lv.Level == api.LevelBaseline && c.Level == api.LevelRestricted) {
		return policy.VersionedCheck{}, false
	}
	vc, ok := versionedCheck(c, lv.Version)
	if !ok {
		return vc, false
	}
	if lv.Level == api.LevelRestricted && c.Level == api.LevelBaseline {
		for _, other := range upstreamChecks {
			if other.Level != api.LevelRestricted {
				continue
			}
			if ovc, ok := versionedCheck(other, lv.Version); ok && slices.Contains(ovc.OverrideCheckIDs, id) {
				return vc, false
			}
		}
	}
	return vc, true
}

// levelVersion turns the context's level and version into the upstream form.
func (c *Context) levelVersion() (api.LevelVersion, error) {
	level, err := api.ParseLevel(c.PSSLevel)
	if err != nil {
		return api.LevelVersion{}, err
	}
	version, err := api.ParseVersion(c.PSSVersion)
	if err != nil {
		return api.LevelVersion{}, err
	}
	return api.LevelVersion{Level: level, Version: version}, nil
}

// PSSVersionFor turns an API server gitVersion ("v1.37.2") into a PSS version ("v1.37"); any
// unparseable version evaluates at "latest".
func PSSVersionFor(gitVersion string) string {
	v := strings.TrimPrefix(gitVersion, "v")
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return "latest"
	}
	minor := strings.TrimRightFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' })
	out := "v" + parts[0] + "." + minor
	if _, err := api.ParseVersion(out); err != nil {
		return "latest"
	}
	return out
}

// pssRules maps an upstream check ID to the rule of the Redoubt check that reports it.
var pssRules = map[policy.CheckID]*finding.Rule{}

// registerPSS registers a Redoubt check that reports one upstream Pod Security check. The rule's
// references must start with the upstream reference, so docs and SARIF name the standard.
//
// At restricted, upstream evaluates some restricted checks in place of the baseline checks they
// override (procMount_restricted for procMount, seccompProfile_restricted for
// seccompProfile_baseline, ...), so a baseline violation would surface only as the milder
// restricted finding: an unmasked /proc as "in a user namespace", an explicit Unconfined seccomp
// profile as "not set". When an overridden baseline check fails too, the finding is reported
// under the baseline rule (at least as severe, and more precise), with upstream's message: one
// finding per upstream violation, at the severity of the worst rule it breaks.
func registerPSS(id policy.CheckID, rule finding.Rule) *Check {
	ref := pssReference(id)
	if len(rule.References) == 0 || rule.References[0] != ref {
		panic(fmt.Sprintf("checks: %s must reference %s first", rule.ID, ref))
	}
	chk := registerWorkload(rule, func(c *Context, w *inventory.Workload, e *emitter) {
		lv, err := c.levelVersion()
		if err != nil {
			return
		}
		vc, ok := pssApplies(id, lv)
		if !ok {
			return
		}
		res := vc.CheckPod(&w.Template.ObjectMeta, &w.Template.Spec)
		if res.Allowed {
			return
		}
		msg := res.ForbiddenReason
		if res.ForbiddenDetail != "" {
			msg += " (" + res.ForbiddenDetail + ")"
		}
		worst, overridden := e.rule, policy.CheckID("")
		for _, oid := range vc.OverrideCheckIDs {
			ovc, ok := versionedCheck(upstreamChecks[oid], lv.Version)
			r := pssRules[oid]
			if !ok || r == nil || r.Severity < worst.Severity || ovc.CheckPod(&w.Template.ObjectMeta, &w.Template.Spec).Allowed {
				continue
			}
			worst, overridden = r, oid
		}
		f := e.workloadAs(worst, w, "%s", msg)
		f.Evidence = map[string]any{"pssLevel": string(upstreamChecks[id].Level), "pssVersion": lv.Version.String(), "upstreamCheck": string(id)}
		if overridden != "" {
			f.Evidence["baselineCheck"] = string(overridden)
		}
	})
	pssRules[id] = chk.Rule
	return chk
}
