package infra

import (
	"fmt"
	"strings"

	"redoubt.dev/redoubt/internal/controlplane"
	"redoubt.dev/redoubt/internal/finding"
)

// apiserverAuditLog requires API audit logging: an audit policy (--audit-policy-file, without
// which nothing is recorded) and somewhere to write (--audit-log-path, or an audit webhook).
// Without it nobody can say afterwards who read which Secret or who created that pod.
var apiserverAuditLog = registerComponent(controlplane.APIServer, finding.Rule{
	ID:          "apiserver-audit-log",
	Title:       "API server keeps no audit log",
	Phase:       finding.PhaseInfra,
	Severity:    finding.Medium,
	References:  []string{"cis:1.2.16"},
	Description: "The API server records no audit events: it needs both an audit policy (--audit-policy-file) and a destination (--audit-log-path or --audit-webhook-config-file). Without them requests cannot be traced afterwards.",
	Remediation: "Write an audit policy (at least Metadata level for Secrets, RequestResponse for RBAC changes) and set --audit-policy-file and --audit-log-path=/var/log/kubernetes/audit/audit.log.",
}, func(c *Context, i *controlplane.Instance) verdict {
	var missing []string
	if i.Flags.Value("audit-policy-file") == "" {
		missing = append(missing, "--audit-policy-file (without a policy nothing is recorded)")
	}
	if i.Flags.Value("audit-log-path") == "" && i.Flags.Value("audit-webhook-config-file") == "" {
		missing = append(missing, "--audit-log-path (or --audit-webhook-config-file)")
	}
	if len(missing) == 0 {
		return pass()
	}
	return fail("no audit log: %s not set", strings.Join(missing, " and ")).with("missing", missing)
})

// apiserverAuditLogRetention requires the audit log file to be kept long enough: at least 30
// days (--audit-log-maxage), 10 rotated files (--audit-log-maxbackup) of 100 MB
// (--audit-log-maxsize). It applies only when the API server writes an audit log file.
var apiserverAuditLogRetention = registerComponent(controlplane.APIServer, finding.Rule{
	ID:          "apiserver-audit-log-retention",
	Title:       "API server audit log kept too briefly",
	Phase:       finding.PhaseInfra,
	Severity:    finding.Low,
	References:  []string{"cis:1.2.17", "cis:1.2.18", "cis:1.2.19"},
	Description: "The audit log file is rotated away before an incident would be noticed: keep at least 30 days (--audit-log-maxage), 10 files (--audit-log-maxbackup) of 100 MB (--audit-log-maxsize). Zero, the default, means no age limit for maxage and maxbackup but is not a retention decision either.",
	Remediation: "Set --audit-log-maxage=30, --audit-log-maxbackup=10 and --audit-log-maxsize=100 (or more), or ship the log off the node.",
}, func(c *Context, i *controlplane.Instance) verdict {
	if i.Flags.Value("audit-log-path") == "" || i.Flags.Value("audit-log-path") == "-" {
		return pass() // nothing kept on disk; apiserver-audit-log covers the absence of a log
	}
	var short []string
	for _, lim := range []struct {
		flag string
		min  int64
	}{{"audit-log-maxage", 30}, {"audit-log-maxbackup", 10}, {"audit-log-maxsize", 100}} {
		n, ok := i.Flags.Int(lim.flag)
		if !ok {
			return unknown("--%s=%q is not a number", lim.flag, i.Flags.Value(lim.flag))
		}
		if n < lim.min {
			short = append(short, fmt.Sprintf("%s (want at least %d)", i.Flags.Describe(lim.flag), lim.min))
		}
	}
	if len(short) == 0 {
		return pass()
	}
	return fail("audit log retention too short: %s", strings.Join(short, "; ")).with("limits", short)
})
