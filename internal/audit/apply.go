package audit

import (
	"slices"
	"time"

	"redoubt.dev/redoubt/internal/config"
	"redoubt.dev/redoubt/internal/finding"
)

// ApplyExceptions is the exception stage of Run for findings that do not come from a snapshot:
// runtime findings from the audit log, Falco or Tetragon events. It applies the policy's
// exceptions exactly as Run does (suppressed findings kept and marked), reports exceptions
// naming checks that do not exist and exceptions that have expired, drops duplicates and sorts.
// cluster names the cluster in the findings about expired exceptions.
func ApplyExceptions(fs []finding.Finding, cfg *config.Config, now time.Time, cluster string) []finding.Finding {
	if cfg == nil {
		cfg = config.Default()
	}
	if now.IsZero() {
		now = time.Now()
	}
	exceptions := slices.Clone(cfg.Exceptions)
	all := append(fs, unknownChecks(exceptions)...)
	for _, e := range finding.Suppress(all, exceptions, finding.Today(now)) {
		all = append(all, expiredFinding(e, cluster))
	}
	all = dedupe(all)
	finding.Sort(all)
	return all
}
