// Package node reads a Kubernetes node from the inside, for `redoubt node audit`: the command
// lines of the control-plane processes and the kubelet running there (/proc/PID/cmdline), the
// static pod manifests (/etc/kubernetes/manifests), the kubelet's configuration file, and the
// facts the checks need about files their flags name: for an encryption configuration, which
// providers it lists, never its keys. Everything it reads is capped in size.
package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"redoubt.dev/redoubt/internal/controlplane"
	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/inventory/manifest"
)

// Limits on what is read from /proc and from configuration files.
const (
	MaxCmdlineBytes = 1 << 20
	MaxEnvironBytes = 1 << 20
	MaxConfigBytes  = 1 << 20
)

// Defaults for a node laid out as kubeadm lays it out.
const (
	DefaultProc          = "/proc"
	DefaultManifestsDir  = "/etc/kubernetes/manifests"
	DefaultKubeletConfig = "/var/lib/kubelet/config.yaml"
)

// Options say where to look.
type Options struct {
	// Proc is the proc filesystem ("/proc"); "" means the default. "-" reads no processes.
	Proc string
	// ManifestsDir holds static pod manifests; "" means the default, "-" none.
	ManifestsDir string
	// KubeletConfig is the kubelet configuration file to read when no running kubelet names one
	// with --config; "" means the default, "-" none.
	KubeletConfig string
	// Root is prefixed to every host path read from a component's flags (for a container that
	// sees the host's filesystem under /host, say); "" means /.
	Root string
	// NodeName names the node in findings; "" means the host name.
	NodeName string
	// PIDs, when set, limits the processes read to these.
	PIDs []int
}

func (o *Options) defaults() {
	if o.Proc == "" {
		o.Proc = DefaultProc
	}
	if o.ManifestsDir == "" {
		o.ManifestsDir = DefaultManifestsDir
	}
	if o.KubeletConfig == "" {
		o.KubeletConfig = DefaultKubeletConfig
	}
	if o.NodeName == "" {
		o.NodeName, _ = os.Hostname()
	}
}

// Load reads the node. Files and processes that cannot be read are recorded as problems (or,
// for files the checks need, as unreadable HostFiles) and the rest is read.
func Load(ctx context.Context, opts Options) (*inventory.Snapshot, error) {
	opts.defaults()
	var snap *inventory.Snapshot
	if opts.ManifestsDir != "-" && isDir(opts.ManifestsDir) {
		s, err := manifest.Load(ctx, []string{opts.ManifestsDir}, manifest.Options{Namespace: "kube-system"})
		if err != nil {
			return nil, fmt.Errorf("static pod manifests %s: %w", opts.ManifestsDir, err)
		}
		snap = s
	} else {
		snap = inventory.NewBuilder(inventory.Source{}, "").Snapshot()
	}
	snap.Source = inventory.Source{Kind: inventory.SourceNode, Node: opts.NodeName}
	if opts.ManifestsDir != "-" && isDir(opts.ManifestsDir) {
		snap.Source.Paths = []string{opts.ManifestsDir}
	}
	if opts.Proc != "-" {
		comps, problems := processes(opts)
		snap.Components = append(snap.Components, comps...)
		snap.Problems = append(snap.Problems, problems...)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	addKubeletConfig(snap, opts)
	readHostFiles(snap, opts)
	readNodeFiles(snap, opts)
	return snap, nil
}

func isDir(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.IsDir()
}

// processes finds the control-plane components and the kubelet among the running processes.
func processes(opts Options) ([]*inventory.Component, []inventory.Problem) {
	entries, err := os.ReadDir(opts.Proc)
	if err != nil {
		return nil, []inventory.Problem{{File: opts.Proc, Message: fmt.Sprintf("cannot list processes: %v", err)}}
	}
	var out []*inventory.Component
	var problems []inventory.Problem
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		if len(opts.PIDs) > 0 && !slices.Contains(opts.PIDs, pid) {
			continue
		}
		dir := filepath.Join(opts.Proc, e.Name())
		raw, err := readCapped(filepath.Join(dir, "cmdline"), MaxCmdlineBytes)
		if err != nil {
			continue // the process ended, or is not ours to read
		}
		args := SplitCmdline(raw)
		if len(args) == 0 {
			continue
		}
		name := filepath.Base(args[0])
		if controlplane.SpecFor(name) == nil {
			continue
		}
		c := &inventory.Component{Name: name, Node: opts.NodeName, PID: pid, Args: args[1:]}
		if name == controlplane.Etcd {
			env, err := readCapped(filepath.Join(dir, "environ"), MaxEnvironBytes)
			if err != nil {
				problems = append(problems, inventory.Problem{File: filepath.Join(dir, "environ"), Object: fmt.Sprintf("etcd process %d", pid),
					Message: fmt.Sprintf("cannot read its environment (ETCD_* variables set flags): %v", err)})
			} else {
				c.Env = etcdEnv(env)
			}
		}
		out = append(out, c)
	}
	return out, problems
}

// SplitCmdline splits /proc/PID/cmdline into arguments: they are NUL-terminated.
func SplitCmdline(raw []byte) []string {
	raw = bytes.TrimRight(raw, "\x00")
	if len(raw) == 0 {
		return nil
	}
	parts := bytes.Split(raw, []byte{0})
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = string(p)
	}
	return out
}

// etcdEnv keeps the ETCD_* variables of an environment and nothing else.
func etcdEnv(raw []byte) map[string]string {
	env := map[string]string{}
	for _, kv := range SplitCmdline(raw) {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(k, "ETCD_") {
			env[k] = v
		}
	}
	return env
}

func readCapped(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
	}
	return data, nil
}

// hostPath prefixes the root to a path on the node.
func (o Options) hostPath(p string) string {
	if o.Root == "" || o.Root == "/" {
		return p
	}
	return filepath.Join(o.Root, p)
}

// addKubeletConfig reads the kubelet's configuration file: the one a running kubelet names with
// --config, or else the default file if it exists.
func addKubeletConfig(snap *inventory.Snapshot, opts Options) {
	var kubelet *inventory.Component
	for _, c := range snap.Components {
		if c.Name == controlplane.Kubelet {
			kubelet = c
			break
		}
	}
	path := ""
	if kubelet != nil {
		if f := controlplane.Parse(controlplane.SpecFor(controlplane.Kubelet), kubelet.Args, nil); f.Given("config") {
			path = f.Value("config")
		}
	}
	if path == "" && opts.KubeletConfig != "-" {
		if _, err := os.Stat(opts.hostPath(opts.KubeletConfig)); err == nil || kubelet != nil {
			path = opts.KubeletConfig
		}
	}
	if path == "" {
		return
	}
	if kubelet == nil {
		kubelet = &inventory.Component{Name: controlplane.Kubelet, Node: opts.NodeName}
		snap.Components = append(snap.Components, kubelet)
	}
	kubelet.Origin = inventory.Origin{File: path}
	kubelet.ConfigSource = "file"
	data, err := readCapped(opts.hostPath(path), MaxConfigBytes)
	if err != nil {
		if kubelet.PID != 0 && errors.Is(err, os.ErrNotExist) && opts.KubeletConfig == path {
			// A running kubelet without --config and no default file: flags only.
			kubelet.Origin, kubelet.ConfigSource = inventory.Origin{}, ""
			return
		}
		kubelet.Error = fmt.Sprintf("kubelet configuration %s: %v", path, unwrapPath(err))
		return
	}
	kubelet.Config = data
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// readHostFiles reads the files components' flags name that checks need: the API server's
// encryption provider configuration and audit policy.
func readHostFiles(snap *inventory.Snapshot, opts Options) {
	seen := map[string]bool{}
	for _, inst := range controlplane.Instances(snap) {
		if inst.Component != controlplane.APIServer || inst.Flags == nil {
			continue
		}
		for _, flag := range []string{"encryption-provider-config", "audit-policy-file"} {
			p := inst.Flags.Value(flag)
			if p == "" {
				continue
			}
			hp := inst.HostPath(p)
			if hp == "" || seen[hp] {
				continue
			}
			seen[hp] = true
			hf := &inventory.HostFile{Node: opts.NodeName, Path: hp}
			data, err := readCapped(opts.hostPath(hp), MaxConfigBytes)
			switch {
			case err != nil:
				hf.Error = unwrapPath(err).Error()
			case flag == "audit-policy-file":
				if rules, err := AuditPolicyRules(data); err != nil {
					hf.Error = err.Error()
				} else {
					hf.Read, hf.AuditPolicy = true, rules
				}
			default:
				if enc, err := EncryptionProviders(data); err != nil {
					hf.Error = err.Error()
				} else {
					hf.Read, hf.Encryption = true, enc
				}
			}
			snap.HostFiles = append(snap.HostFiles, hf)
		}
	}
}

// EncryptionProviders reads an EncryptionConfiguration (apiserver.config.k8s.io/v1) and returns
// each resources entry with its provider names in order. Keys and secrets are never kept.
func EncryptionProviders(data []byte) ([]inventory.EncryptionResources, error) {
	if len(data) > MaxConfigBytes {
		return nil, fmt.Errorf("larger than %d bytes", MaxConfigBytes)
	}
	var doc struct {
		Kind      string `json:"kind"`
		Resources []struct {
			Resources []string         `json:"resources"`
			Providers []map[string]any `json:"providers"`
		} `json:"resources"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not an EncryptionConfiguration: %v", err)
	}
	if doc.Kind != "EncryptionConfiguration" {
		return nil, fmt.Errorf("kind %q, want EncryptionConfiguration", doc.Kind)
	}
	var out []inventory.EncryptionResources
	for _, r := range doc.Resources {
		e := inventory.EncryptionResources{Resources: r.Resources}
		for _, p := range r.Providers {
			names := make([]string, 0, len(p))
			for k := range p {
				names = append(names, k)
			}
			slices.Sort(names)
			e.Providers = append(e.Providers, names...)
		}
		out = append(out, e)
	}
	return out, nil
}
