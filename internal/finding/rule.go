package finding

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Rule describes one check: its stable ID, what it forbids and why, how to fix it, and the
// standards it implements. Every analyzer registers the rules it can report, at init, so that
// `redoubt checks` and docs/checks.md list everything Redoubt can say.
type Rule struct {
	// ID is stable and kebab-case: exceptions and pipelines refer to it.
	ID       string
	Title    string
	Phase    Phase
	Severity Severity
	// Description says what the rule forbids and why it matters.
	Description string
	// Remediation says how to fix a finding.
	Remediation string
	// References name the standards the rule implements: "pss:baseline:privileged",
	// "cis:5.2.2", "nsa:..." and so on.
	References []string
}

// New returns a finding of this rule, with the rule's defaults filled in.
func (r *Rule) New(res Resource, loc Location, message string) Finding {
	return Finding{
		Check:       r.ID,
		Phase:       r.Phase,
		Severity:    r.Severity,
		Title:       r.Title,
		Message:     message,
		Resource:    res,
		Location:    loc,
		References:  slices.Clone(r.References),
		Remediation: r.Remediation,
	}
}

var (
	rulesMu sync.RWMutex
	rules   = map[string]*Rule{}
	ruleID  = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
)

// Register adds a rule to the registry and returns it. It panics on an invalid or duplicate ID:
// registration happens at init, so the mistake is found by the first test that runs.
func Register(r Rule) *Rule {
	if !ruleID.MatchString(r.ID) {
		panic(fmt.Sprintf("finding: rule ID %q is not kebab-case", r.ID))
	}
	if r.Title == "" || r.Description == "" || r.Remediation == "" || r.Phase == "" {
		panic(fmt.Sprintf("finding: rule %q needs a title, description, remediation and phase", r.ID))
	}
	for _, ref := range r.References {
		if !strings.Contains(ref, ":") {
			panic(fmt.Sprintf("finding: rule %q: reference %q is not framework:id", r.ID, ref))
		}
	}
	rulesMu.Lock()
	defer rulesMu.Unlock()
	if _, dup := rules[r.ID]; dup {
		panic(fmt.Sprintf("finding: rule %q registered twice", r.ID))
	}
	rules[r.ID] = &r
	return &r
}

// Lookup returns the registered rule with this ID.
func Lookup(id string) (*Rule, bool) {
	rulesMu.RLock()
	defer rulesMu.RUnlock()
	r, ok := rules[id]
	return r, ok
}

// Rules returns every registered rule, ordered by phase then ID.
func Rules() []*Rule {
	rulesMu.RLock()
	out := make([]*Rule, 0, len(rules))
	for _, r := range rules {
		out = append(out, r)
	}
	rulesMu.RUnlock()
	order := map[Phase]int{PhaseInfra: 0, PhaseBuild: 1, PhaseDeploy: 2, PhaseRuntime: 3}
	slices.SortFunc(out, func(a, b *Rule) int {
		if d := order[a.Phase] - order[b.Phase]; d != 0 {
			return d
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}
