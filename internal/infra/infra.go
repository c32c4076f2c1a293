// Package infra is the infrastructure-phase analyzer: is the cluster on a maintained Kubernetes
// release, are its API server, controller manager, scheduler, etcd and kubelets configured as
// the CIS Kubernetes Benchmark recommends, and does the API server answer anonymous requests.
// One file per check, each opening with the rule it enforces.
//
// A check about a component's configuration returns a verdict for each instance of the
// component the snapshot holds: pass, fail (a finding), or not assessable, with the reason.
// Nothing is ever guessed: a flag that cannot be read, a file that is not on this machine, a
// control plane run by a cloud provider, all make the check not assessable, and the instance gets
// one `control-plane-not-assessable` finding (info) that lists those checks and why.
package infra

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"redoubt.dev/redoubt/internal/config"
	"redoubt.dev/redoubt/internal/controlplane"
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/releases"
)

// Context is what the checks see.
type Context struct {
	Snapshot *inventory.Snapshot
	Config   *config.Config
	Calendar *releases.Calendar
	Now      time.Time
	// Platform is the managed service running the control plane, if one was recognised.
	Platform controlplane.Platform
	// Instances are the components found in the snapshot.
	Instances []*controlplane.Instance
}

// status is a verdict's outcome.
type status int

const (
	passed status = iota
	failed
	notAssessable
)

// verdict is a component check's result for one instance.
type verdict struct {
	status   status
	message  string
	evidence map[string]any
}

func pass() verdict { return verdict{status: passed} }

func fail(format string, args ...any) verdict {
	return verdict{status: failed, message: fmt.Sprintf(format, args...)}
}

func unknown(format string, args ...any) verdict {
	return verdict{status: notAssessable, message: fmt.Sprintf(format, args...)}
}

// with attaches evidence to a verdict.
func (v verdict) with(kv ...any) verdict {
	if v.evidence == nil {
		v.evidence = map[string]any{}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		v.evidence[kv[i].(string)] = kv[i+1]
	}
	return v
}

// componentCheck judges one component's configuration.
type componentCheck struct {
	rule      *finding.Rule
	component string
	judge     func(c *Context, i *controlplane.Instance) verdict
}

// clusterCheck looks at the whole snapshot.
type clusterCheck struct {
	rule *finding.Rule
	run  func(c *Context, rule *finding.Rule) []finding.Finding
}

var (
	componentChecks []*componentCheck
	clusterChecks   []*clusterCheck
)

// registerComponent adds a check of one component's configuration. For every component but the
// kubelet, an instance without a readable command line is not assessable before judge is called.
func registerComponent(component string, rule finding.Rule, judge func(c *Context, i *controlplane.Instance) verdict) *finding.Rule {
	r := finding.Register(rule)
	componentChecks = append(componentChecks, &componentCheck{rule: r, component: component, judge: judge})
	return r
}

// registerCluster adds a check that looks at the whole snapshot.
func registerCluster(rule finding.Rule, run func(c *Context, rule *finding.Rule) []finding.Finding) *finding.Rule {
	r := finding.Register(rule)
	clusterChecks = append(clusterChecks, &clusterCheck{rule: r, run: run})
	return r
}

var notAssessableRule = finding.Register(finding.Rule{
	ID:          "control-plane-not-assessable",
	Title:       "Configuration checks not assessable",
	Phase:       finding.PhaseInfra,
	Severity:    finding.Info,
	References:  []string{"redoubt:infra"},
	Description: "Some configuration checks could not be judged for a control-plane component or kubelet: its flags are hidden by a managed service, it runs outside the cluster where no static pod shows it, a file it names is not readable here, or its configuration could not be fetched. Redoubt reports this instead of guessing a pass or a fail.",
	Remediation: "Run `redoubt node audit` on the control-plane and worker nodes to read the components' command lines and files there, or rely on the provider's attestation for a managed control plane.",
})

// Run applies every infrastructure check.
func Run(c *Context) []finding.Finding {
	if c.Calendar == nil {
		c.Calendar = releases.Embedded()
	}
	if c.Config == nil {
		c.Config = config.Default()
	}
	if c.Now.IsZero() {
		c.Now = time.Now()
	}
	c.Platform = controlplane.DetectPlatform(c.Snapshot)
	c.Instances = controlplane.Instances(c.Snapshot)

	var out []finding.Finding
	for _, cc := range clusterChecks {
		out = append(out, cc.run(c, cc.rule)...)
	}
	out = append(out, c.judgeComponents()...)
	return out
}

// judgeComponents runs the component checks on every instance, and reports components that
// should be there but cannot be seen.
func (c *Context) judgeComponents() []finding.Finding {
	var out []finding.Finding
	live := c.Snapshot.Source.Kind == inventory.SourceCluster
	seen := map[string]bool{}
	for _, inst := range c.Instances {
		seen[inst.Component] = true
		var skipped []string
		reasons := map[string]bool{}
		for _, chk := range componentChecks {
			if chk.component != inst.Component {
				continue
			}
			v := c.judge(chk, inst)
			switch v.status {
			case failed:
				f := chk.rule.New(inst.Resource, inst.Location, fmt.Sprintf("%s: %s", inst.Describe(), v.message))
				f.Evidence = map[string]any{"component": inst.Component, "source": string(inst.Source)}
				if inst.PID != 0 {
					f.Evidence["pid"] = inst.PID
				}
				for k, val := range v.evidence {
					f.Evidence[k] = val
				}
				out = append(out, f)
			case notAssessable:
				skipped = append(skipped, chk.rule.ID)
				reasons[v.message] = true
			}
		}
		if len(skipped) > 0 {
			out = append(out, c.notAssessable(inst.Resource, inst.Location, inst.Describe(), skipped, reasons))
		}
	}
	if live {
		for _, comp := range controlplane.ControlPlane {
			if seen[comp] {
				continue
			}
			var ids []string
			for _, chk := range componentChecks {
				if chk.component == comp {
					ids = append(ids, chk.rule.ID)
				}
			}
			reason := fmt.Sprintf("no %s static pod in kube-system: it runs outside the cluster's view; run `redoubt node audit` on a control-plane node", comp)
			if ns := c.Snapshot.Source.Namespace; ns != "" && ns != "kube-system" {
				reason = fmt.Sprintf("the scan was limited to namespace %s, so kube-system's static pods were not read", ns)
			}
			if c.Platform.Managed() {
				reason = fmt.Sprintf("the control plane is managed by %s (%s), which hides its %s configuration", c.Platform.Name, c.Platform.Evidence, comp)
			}
			res := finding.Resource{Cluster: c.Snapshot.Source.Cluster, Name: comp}
			out = append(out, c.notAssessable(res, finding.Location{}, comp, ids, map[string]bool{reason: true}))
		}
	}
	if c.Snapshot.Source.Kind == inventory.SourceNode && len(c.Instances) == 0 {
		res := finding.Resource{Name: c.Snapshot.Source.Node}
		f := notAssessableRule.New(res, finding.Location{Node: c.Snapshot.Source.Node},
			"no control-plane component or kubelet was found on this node: no such process, no static pod manifest and no kubelet configuration file")
		out = append(out, f)
	}
	return out
}

// judge runs one check on one instance, making it not assessable when the instance's command
// line is unknown.
func (c *Context) judge(chk *componentCheck, inst *controlplane.Instance) verdict {
	if inst.Component != controlplane.Kubelet && c.Platform.Managed() && inst.Source == controlplane.SourceStaticPod {
		// A managed service may show a mirror pod, but it is not what the provider runs.
		return unknown("the control plane is managed by %s", c.Platform.Name)
	}
	if inst.Component != controlplane.Kubelet && inst.Flags == nil {
		if len(inst.Problems) > 0 {
			return unknown("%s", strings.Join(inst.Problems, "; "))
		}
		return unknown("its command line could not be read")
	}
	if inst.Component == controlplane.Kubelet && inst.Kubelet == nil {
		if len(inst.Problems) > 0 {
			return unknown("%s", strings.Join(inst.Problems, "; "))
		}
		return unknown("its configuration could not be read")
	}
	return chk.judge(c, inst)
}

func (c *Context) notAssessable(res finding.Resource, loc finding.Location, what string, ids []string, reasons map[string]bool) finding.Finding {
	rs := make([]string, 0, len(reasons))
	for r := range reasons {
		rs = append(rs, r)
	}
	slices.Sort(rs)
	f := notAssessableRule.New(res, loc, fmt.Sprintf("%s: %d check%s not assessable (%s): %s",
		what, len(ids), plural(len(ids)), strings.Join(ids, ", "), strings.Join(rs, "; ")))
	f.Evidence = map[string]any{"checks": ids, "reasons": rs}
	if c.Platform.Managed() {
		f.Evidence["platform"] = c.Platform.Name
	}
	return f
}

// hostFile returns what the node source learnt about a file a component names, translated to
// the node's path for a static pod; nil when nothing is known.
func (c *Context) hostFile(inst *controlplane.Instance, p string) *inventory.HostFile {
	hp := inst.HostPath(p)
	if hp == "" {
		return nil
	}
	for _, f := range c.Snapshot.HostFiles {
		if f.Path == hp && (f.Node == "" || inst.Node == "" || f.Node == inst.Node) {
			return f
		}
	}
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// flagsSet reports which of the flags are unset, for "X and Y must be set" checks.
func unset(i *controlplane.Instance, names ...string) []string {
	var out []string
	for _, n := range names {
		if strings.TrimSpace(i.Flags.Value(n)) == "" {
			out = append(out, "--"+n)
		}
	}
	return out
}

// requireFlags fails when any of the flags is unset.
func requireFlags(i *controlplane.Instance, what string, names ...string) verdict {
	missing := unset(i, names...)
	if len(missing) == 0 {
		return pass()
	}
	return fail("%s not set: %s", strings.Join(missing, " and "), what).with("missing", missing)
}

// boolFlag judges a flag that must have a given boolean value.
func boolFlag(i *controlplane.Instance, name string, want bool, why string) verdict {
	v, ok := i.Flags.Bool(name)
	if !ok {
		return unknown("--%s=%q is not a boolean", name, i.Flags.Value(name))
	}
	if v == want {
		return pass()
	}
	return fail("%s: %s", i.Flags.Describe(name), why).with("flag", name, "value", i.Flags.Value(name), "explicit", i.Flags.Given(name))
}

// loopback reports whether a bind address only listens on the node itself.
func loopback(addr string) bool {
	switch strings.Trim(addr, "[]") {
	case "127.0.0.1", "::1", "localhost":
		return true
	}
	return strings.HasPrefix(addr, "127.")
}

// servesNothing reports whether a controller manager or scheduler has its secure port turned
// off (--secure-port=0): then neither its bind address nor its profiling endpoints are exposed.
func servesNothing(i *controlplane.Instance) bool {
	return strings.TrimSpace(i.Flags.Value("secure-port")) == "0"
}
