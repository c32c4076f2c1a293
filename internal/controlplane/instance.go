// Package controlplane reads how the control plane and the kubelets are configured from what a
// snapshot holds: static pods (live in kube-system, or as manifest files), the command lines of
// processes read on a node, and kubelet configurations (a config file, or the configz endpoint).
// Command lines are parsed with each component's own flag table (zz_flags_*.go, generated from
// the components' flag sets), so defaults, booleans and repeated flags mean what they mean to the
// component.
package controlplane

import (
	"cmp"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
)

// The components whose configuration Redoubt reads.
const (
	APIServer         = "kube-apiserver"
	ControllerManager = "kube-controller-manager"
	Scheduler         = "kube-scheduler"
	Etcd              = "etcd"
	Kubelet           = "kubelet"
)

// ControlPlane lists the control-plane components, in the order reports show them.
var ControlPlane = []string{APIServer, ControllerManager, Scheduler, Etcd}

var specs = func() map[string]*Spec {
	m := map[string]*Spec{Etcd: etcdSpec}
	for k, v := range k8sSpecs {
		m[k] = v
	}
	return m
}()

// Source says where an instance's configuration was read.
type Source string

// The sources.
const (
	SourceStaticPod    Source = "static pod"          // a live pod in kube-system
	SourceManifest     Source = "manifest"            // a pod manifest file
	SourceProcess      Source = "process"             // /proc/PID/cmdline on a node
	SourceConfigFile   Source = "kubelet config file" // a KubeletConfiguration file on a node
	SourceConfigz      Source = "configz"             // the kubelet's /configz through the API server
	SourceNotAvailable Source = "not available"
)

// Instance is one component as configured: a static pod, a process or a kubelet.
type Instance struct {
	Component string
	Source    Source
	Node      string
	// Resource and Location name it in findings.
	Resource finding.Resource
	Location finding.Location
	// Flags is the parsed command line; nil when none was read (a kubelet's configz).
	Flags *Flags
	// Kubelet holds the kubelet's settings in effect, for kubelets.
	Kubelet *KubeletSettings
	// Image is a static pod container's image, which names the component's version.
	Image string
	// Mounts translate paths inside a static pod's container to paths on the host.
	Mounts []Mount
	// PID is the process, for processes.
	PID int
	// Problems say what could not be read.
	Problems []string
}

// Mount is a hostPath volume mounted into a static pod's container.
type Mount struct {
	ContainerPath, HostPath string
}

// HostPath translates a path the component names (inside its container, for a static pod) to
// the path on the node. It returns "" when the path is not on a hostPath mount: the file then
// lives in the container image and no node source can read it.
func (i *Instance) HostPath(p string) string {
	if i.Source == SourceProcess || i.Source == SourceConfigFile {
		return p
	}
	best := -1
	var out string
	for _, m := range i.Mounts {
		rel, ok := under(p, m.ContainerPath)
		if !ok || len(m.ContainerPath) <= best {
			continue
		}
		best, out = len(m.ContainerPath), path.Join(m.HostPath, rel)
	}
	return out
}

func under(p, dir string) (string, bool) {
	p, dir = path.Clean(p), path.Clean(dir)
	if p == dir {
		return "", true
	}
	if dir == "/" {
		return strings.TrimPrefix(p, "/"), strings.HasPrefix(p, "/")
	}
	if strings.HasPrefix(p, dir+"/") {
		return p[len(dir)+1:], true
	}
	return "", false
}

// Describe names the instance for messages: `static pod kube-system/kube-apiserver-cp1`.
func (i *Instance) Describe() string {
	switch i.Source {
	case SourceProcess:
		return fmt.Sprintf("%s process %d on %s", i.Component, i.PID, i.nodeName())
	case SourceConfigz:
		return fmt.Sprintf("kubelet on node %s (configz)", i.Node)
	case SourceConfigFile:
		return fmt.Sprintf("kubelet on %s (%s)", i.nodeName(), i.Location.File)
	}
	return fmt.Sprintf("%s %s/%s", i.Source, i.Resource.Namespace, i.Resource.Name)
}

func (i *Instance) nodeName() string {
	if i.Node == "" {
		return "this node"
	}
	return i.Node
}

// Instances finds every component instance in the snapshot: static pods (any workload in
// kube-system whose container runs a control-plane binary), and the processes and kubelet
// configurations a node or cluster source recorded. They are ordered by component, then name.
func Instances(s *inventory.Snapshot) []*Instance {
	var out []*Instance
	for _, w := range s.Workloads {
		if w.Namespace != metav1.NamespaceSystem {
			continue
		}
		out = append(out, fromWorkload(s, w)...)
	}
	for _, c := range s.Components {
		if inst := fromComponent(s, c); inst != nil {
			out = append(out, inst)
		}
	}
	slices.SortStableFunc(out, func(a, b *Instance) int {
		return cmp.Or(cmp.Compare(order(a.Component), order(b.Component)), cmp.Compare(a.Resource.String(), b.Resource.String()),
			cmp.Compare(a.Location.String(), b.Location.String()))
	})
	return out
}

func order(component string) int {
	if i := slices.Index(ControlPlane, component); i >= 0 {
		return i
	}
	return len(ControlPlane)
}

// fromWorkload recognises control-plane containers in a workload.
func fromWorkload(s *inventory.Snapshot, w *inventory.Workload) []*Instance {
	var out []*Instance
	spec := &w.Template.Spec
	for i := range spec.Containers {
		c := &spec.Containers[i]
		component, args, problem := commandLine(c)
		if component == "" {
			continue
		}
		inst := &Instance{Component: component, Image: c.Image,
			Resource: finding.Resource{Cluster: s.Source.Cluster, Namespace: w.Namespace, Kind: w.Kind, Name: w.Name, Container: c.Name}}
		if w.Origin.File != "" {
			inst.Source = SourceManifest
			inst.Location = finding.Location{File: w.Origin.File, Line: w.ContainerLine(c.Name)}
		} else {
			inst.Source = SourceStaticPod
			inst.Location = finding.Location{UID: w.Origin.UID}
		}
		if len(w.Nodes) > 0 {
			inst.Node = w.Nodes[0]
			inst.Location.Node = inst.Node
		} else if s.Source.Kind == inventory.SourceNode {
			inst.Node = s.Source.Node
		}
		if problem != "" {
			inst.Problems = append(inst.Problems, problem)
		} else {
			inst.Flags = Parse(SpecFor(component), args, envOf(c))
		}
		inst.Mounts = mounts(spec, c)
		out = append(out, inst)
	}
	return out
}

// commandLine returns the component a container runs and its arguments. A container runs a
// component when its command's program is the component's binary, or, with no command, when its
// image is the component's image (whose entrypoint is the binary).
func commandLine(c *corev1.Container) (component string, args []string, problem string) {
	if len(c.Command) > 0 {
		prog := filepath.Base(c.Command[0])
		if SpecFor(prog) != nil && prog != Kubelet {
			return prog, slices.Concat(c.Command[1:], c.Args), ""
		}
		if (prog == "sh" || prog == "bash") && len(c.Command) > 1 {
			for _, word := range strings.Fields(strings.Join(slices.Concat(c.Command[1:], c.Args), " ")) {
				if b := filepath.Base(word); SpecFor(b) != nil && b != Kubelet {
					return b, nil, fmt.Sprintf("container %q starts %s through a shell; its flags cannot be read reliably", c.Name, b)
				}
			}
		}
		return "", nil, ""
	}
	repo := c.Image
	if at := strings.IndexByte(repo, '@'); at >= 0 {
		repo = repo[:at]
	}
	if colon := strings.LastIndexByte(repo, ':'); colon > strings.LastIndexByte(repo, '/') {
		repo = repo[:colon]
	}
	if b := path.Base(repo); SpecFor(b) != nil && b != Kubelet {
		return b, slices.Clone(c.Args), ""
	}
	return "", nil, ""
}

func envOf(c *corev1.Container) map[string]string {
	env := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env[e.Name] = e.Value
		}
	}
	return env
}

func mounts(spec *corev1.PodSpec, c *corev1.Container) []Mount {
	host := map[string]string{}
	for _, v := range spec.Volumes {
		if v.HostPath != nil {
			host[v.Name] = v.HostPath.Path
		}
	}
	var out []Mount
	for _, m := range c.VolumeMounts {
		if h, ok := host[m.Name]; ok {
			hp := h
			if m.SubPath != "" {
				hp = path.Join(h, m.SubPath)
			}
			out = append(out, Mount{ContainerPath: m.MountPath, HostPath: hp})
		}
	}
	return out
}

// fromComponent turns a process or kubelet configuration a source recorded into an instance.
func fromComponent(s *inventory.Snapshot, c *inventory.Component) *Instance {
	spec := SpecFor(c.Name)
	if spec == nil {
		return nil
	}
	inst := &Instance{Component: c.Name, Node: c.Node, PID: c.PID}
	inst.Location = finding.Location{Node: c.Node, File: c.Origin.File, Line: c.Origin.Line}
	switch {
	case c.Name == Kubelet && c.ConfigSource == "configz":
		inst.Source = SourceConfigz
		inst.Resource = finding.Resource{Cluster: s.Source.Cluster, Kind: "Node", Name: c.Node}
		inst.Location = finding.Location{UID: c.Origin.UID, Node: c.Node}
	case c.PID != 0:
		inst.Source = SourceProcess
		inst.Resource = finding.Resource{Cluster: s.Source.Cluster, Name: c.Name}
	case c.ConfigSource == "file":
		inst.Source = SourceConfigFile
		inst.Resource = finding.Resource{Cluster: s.Source.Cluster, Name: c.Name}
	default:
		inst.Source = SourceNotAvailable
		inst.Resource = finding.Resource{Cluster: s.Source.Cluster, Kind: "Node", Name: c.Node}
		if c.Node == "" {
			inst.Resource = finding.Resource{Cluster: s.Source.Cluster, Name: c.Name}
		}
	}
	if c.Error != "" {
		inst.Problems = append(inst.Problems, c.Error)
	}
	if c.Args != nil {
		inst.Flags = Parse(spec, c.Args, c.Env)
	}
	if c.Name == Kubelet {
		ks, problems := kubeletSettings(inst.Flags, c)
		inst.Kubelet = ks
		inst.Problems = append(inst.Problems, problems...)
	}
	return inst
}
