package report

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"redoubt.dev/redoubt/internal/inventory"
)

// InventoryDocument is the JSON output of `redoubt inventory --format json`.
type InventoryDocument struct {
	SchemaVersion int                         `json:"schemaVersion"`
	Tool          Tool                        `json:"tool"`
	Target        inventory.Source            `json:"target"`
	Workloads     []inventory.WorkloadSummary `json:"workloads"`
	Problems      []inventory.Problem         `json:"problems"`
}

// InventoryJSON writes workload summaries as JSON.
func InventoryJSON(w io.Writer, s *inventory.Snapshot, sums []inventory.WorkloadSummary, opts Options) error {
	doc := InventoryDocument{SchemaVersion: SchemaVersion, Tool: Tool{Name: "redoubt", Version: opts.ToolVersion},
		Target: s.Source, Workloads: sums, Problems: s.Problems}
	if doc.Workloads == nil {
		doc.Workloads = []inventory.WorkloadSummary{}
	}
	if doc.Problems == nil {
		doc.Problems = []inventory.Problem{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// InventoryTable writes one block per workload, fitted to the width.
func InventoryTable(w io.Writer, sums []inventory.WorkloadSummary, opts Options) error {
	width := opts.Width
	if width <= 0 {
		width = 80
	}
	p := &printer{w: w, color: opts.Color, width: width}
	for i, s := range sums {
		if i > 0 {
			p.line("")
		}
		head := fmt.Sprintf("%s/%s/%s", s.Namespace, s.Kind, s.Name)
		if o := s.Origin.String(); o != "" {
			head += "  (" + o + ")"
		}
		p.line(p.paint(bold, head))
		row := func(label, text string) {
			if text == "" {
				return
			}
			lines := wrap(text, width-indent)
			for j, l := range lines {
				if j == 0 {
					p.line(fmt.Sprintf("  %-8s %s", label, l))
				} else {
					p.line(strings.Repeat(" ", indent) + l)
				}
			}
		}
		var run []string
		if s.Replicas != nil {
			run = append(run, fmt.Sprintf("%d replica%s", *s.Replicas, plural(int(*s.Replicas))))
		}
		if s.Pods > 0 || s.Origin.UID != "" {
			run = append(run, fmt.Sprintf("%d pod%s", s.Pods, plural(s.Pods)))
		}
		if len(s.Nodes) > 0 {
			run = append(run, "on "+strings.Join(s.Nodes, ", "))
		}
		row("runs", strings.Join(run, ", "))
		var imgs []string
		for _, im := range s.Images {
			t := im.Container + ": " + im.Image
			if im.Kind != "container" {
				t = im.Kind + " " + t
			}
			if im.Digest != "" && !strings.Contains(im.Image, "@") {
				t += " (" + shortDigest(im.Digest) + ")"
			}
			imgs = append(imgs, t)
		}
		row("images", strings.Join(imgs, "; "))
		account := s.ServiceAccount
		if s.TokenMounted {
			account += " (token mounted)"
		} else {
			account += " (no token)"
		}
		row("account", account)
		row("access", strings.Join(s.Access, ", "))
		row("security", securityLine(s.Security))
		var vols []string
		for _, v := range s.Volumes {
			t := v.Name + " " + v.Type
			if v.Source != "" {
				t += " " + v.Source
			}
			vols = append(vols, t)
		}
		row("volumes", strings.Join(vols, "; "))
		row("secrets", strings.Join(s.Secrets, ", "))
		row("configs", strings.Join(s.ConfigMaps, ", "))
		var exp []string
		for _, e := range s.Services {
			exp = append(exp, fmt.Sprintf("Service %s (%s %s)", e.Name, e.Type, strings.Join(e.Ports, ", ")))
		}
		for _, e := range s.Ingresses {
			hosts := strings.Join(e.Hosts, ", ")
			if hosts == "" {
				hosts = "any host"
			}
			exp = append(exp, fmt.Sprintf("Ingress %s (%s)", e.Name, hosts))
		}
		row("served", strings.Join(exp, "; "))
	}
	if len(sums) > 0 {
		p.line("")
	}
	p.line(fmt.Sprintf("%d workload%s", len(sums), plural(len(sums))))
	return p.err
}

func securityLine(s inventory.SecuritySummary) string {
	var parts []string
	if len(s.Privileged) > 0 {
		parts = append(parts, "privileged: "+strings.Join(s.Privileged, ", "))
	}
	if len(s.Root) > 0 {
		parts = append(parts, "root: "+strings.Join(s.Root, ", "))
	}
	names := make([]string, 0, len(s.Capabilities))
	for c := range s.Capabilities {
		names = append(names, c)
	}
	slices.Sort(names)
	for _, c := range names {
		parts = append(parts, fmt.Sprintf("%s adds %s", c, strings.Join(s.Capabilities[c], ", ")))
	}
	if s.HostNetwork {
		parts = append(parts, "hostNetwork")
	}
	if s.HostPID {
		parts = append(parts, "hostPID")
	}
	if s.HostIPC {
		parts = append(parts, "hostIPC")
	}
	seccomp := s.Seccomp
	if seccomp == "" {
		seccomp = "unset"
	}
	parts = append(parts, "seccomp "+seccomp)
	if len(s.WritableRoot) > 0 {
		parts = append(parts, "writable root fs: "+strings.Join(s.WritableRoot, ", "))
	}
	return strings.Join(parts, "; ")
}

func shortDigest(d string) string {
	if len(d) > 19 {
		return d[:19] + "…"
	}
	return d
}
