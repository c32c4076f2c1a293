package inventory

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// WorkloadSummary is what `redoubt inventory` shows about one workload: what it runs, where, how,
// and what it can reach.
type WorkloadSummary struct {
	Namespace      string            `json:"namespace"`
	Kind           string            `json:"kind"`
	Name           string            `json:"name"`
	Origin         Origin            `json:"origin"`
	Replicas       *int32            `json:"replicas,omitempty"`
	Pods           int               `json:"pods"`
	Nodes          []string          `json:"nodes"`
	Images         []ContainerImage  `json:"images"`
	ServiceAccount string            `json:"serviceAccount"`
	TokenMounted   bool              `json:"serviceAccountTokenMounted"`
	Security       SecuritySummary   `json:"security"`
	Volumes        []VolumeSummary   `json:"volumes"`
	Secrets        []string          `json:"secrets"`
	ConfigMaps     []string          `json:"configMaps"`
	Services       []ExposureSummary `json:"services"`
	Ingresses      []ExposureSummary `json:"ingresses"`
	Access         []string          `json:"access,omitempty"`
	Extra          map[string]any    `json:"extra,omitempty"`
	workload       *Workload
}

// ContainerImage is the image one container runs.
type ContainerImage struct {
	Container string `json:"container"`
	Kind      string `json:"kind"`
	Image     string `json:"image"`
	Digest    string `json:"digest,omitempty"`
}

// SecuritySummary condenses the pod's and containers' security contexts.
type SecuritySummary struct {
	Privileged []string `json:"privileged"`
	// Root lists containers that run as root: UID 0 set explicitly, or nothing requiring a
	// non-root user (the image then decides).
	Root         []string            `json:"root"`
	Capabilities map[string][]string `json:"addedCapabilities"`
	HostNetwork  bool                `json:"hostNetwork"`
	HostPID      bool                `json:"hostPID"`
	HostIPC      bool                `json:"hostIPC"`
	// Seccomp is the seccomp profile type the containers run with (pod level, overridden per
	// container), "" when unset; when containers differ, each one's: "RuntimeDefault (app),
	// unset (sidecar)".
	Seccomp string `json:"seccomp"`
	// WritableRoot lists containers whose root filesystem is writable.
	WritableRoot []string `json:"writableRootFilesystem"`
}

// VolumeSummary is one volume: its type and source.
type VolumeSummary struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Source   string `json:"source,omitempty"`
	ReadOnly bool   `json:"readOnly,omitempty"`
}

// ExposureSummary is a Service or Ingress that exposes the workload.
type ExposureSummary struct {
	Name  string   `json:"name"`
	Type  string   `json:"type"`
	Ports []string `json:"ports,omitempty"`
	Hosts []string `json:"hosts,omitempty"`
}

// Summaries summarises every workload of the snapshot.
func (s *Snapshot) Summaries() []WorkloadSummary {
	out := make([]WorkloadSummary, 0, len(s.Workloads))
	for _, w := range s.Workloads {
		out = append(out, s.Summarize(w))
	}
	return out
}

// Workload returns the workload a summary describes.
func (ws *WorkloadSummary) Workload() *Workload { return ws.workload }

// Summarize describes one workload.
func (s *Snapshot) Summarize(w *Workload) WorkloadSummary {
	spec := &w.Template.Spec
	sum := WorkloadSummary{
		Namespace: w.Namespace, Kind: w.Kind, Name: w.Name, Origin: w.Origin, Replicas: w.Replicas,
		Pods: len(w.Pods), Nodes: nonNil(w.Nodes), ServiceAccount: w.ServiceAccountName(),
		Security: SecuritySummary{HostNetwork: spec.HostNetwork, HostPID: spec.HostPID, HostIPC: spec.HostIPC,
			Capabilities: map[string][]string{}, Privileged: []string{}, Root: []string{}, WritableRoot: []string{}},
		Images: []ContainerImage{}, Volumes: []VolumeSummary{}, Services: []ExposureSummary{}, Ingresses: []ExposureSummary{},
		workload: w,
	}
	sum.TokenMounted = s.TokenMounted(w)
	digests := map[string]string{}
	for _, img := range s.Images {
		for _, u := range img.Uses {
			if u.Workload == w {
				digests[u.Container] = img.Digest
			}
		}
	}
	secrets, configMaps := map[string]bool{}, map[string]bool{}
	var seccomp []containerSeccomp
	visit := func(c *corev1.Container, kind string) {
		sum.Images = append(sum.Images, ContainerImage{Container: c.Name, Kind: kind, Image: c.Image, Digest: digests[c.Name]})
		sec := ResolveSecurity(spec, c)
		if sec.Privileged {
			sum.Security.Privileged = append(sum.Security.Privileged, c.Name)
		}
		if sec.RunsAsRoot() {
			sum.Security.Root = append(sum.Security.Root, c.Name)
		}
		for _, cp := range sec.AddCapabilities {
			sum.Security.Capabilities[c.Name] = append(sum.Security.Capabilities[c.Name], string(cp))
		}
		if !sec.ReadOnlyRootFilesystem {
			sum.Security.WritableRoot = append(sum.Security.WritableRoot, c.Name)
		}
		seccomp = append(seccomp, containerSeccomp{c.Name, string(sec.Seccomp)})
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				secrets[e.ValueFrom.SecretKeyRef.Name] = true
			}
			if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil {
				configMaps[e.ValueFrom.ConfigMapKeyRef.Name] = true
			}
		}
		for _, e := range c.EnvFrom {
			if e.SecretRef != nil {
				secrets[e.SecretRef.Name] = true
			}
			if e.ConfigMapRef != nil {
				configMaps[e.ConfigMapRef.Name] = true
			}
		}
	}
	for i := range spec.InitContainers {
		visit(&spec.InitContainers[i], "init")
	}
	for i := range spec.Containers {
		visit(&spec.Containers[i], "container")
	}
	for i := range spec.EphemeralContainers {
		c := corev1.Container(spec.EphemeralContainers[i].EphemeralContainerCommon)
		visit(&c, "ephemeral")
	}
	sum.Security.Seccomp = seccompSummary(seccomp)
	for _, ps := range spec.ImagePullSecrets {
		secrets[ps.Name] = true
	}
	for _, v := range spec.Volumes {
		vs := VolumeSummary{Name: v.Name}
		switch {
		case v.HostPath != nil:
			vs.Type, vs.Source = "hostPath", v.HostPath.Path
		case v.Secret != nil:
			vs.Type, vs.Source = "secret", v.Secret.SecretName
			secrets[v.Secret.SecretName] = true
		case v.ConfigMap != nil:
			vs.Type, vs.Source = "configMap", v.ConfigMap.Name
			configMaps[v.ConfigMap.Name] = true
		case v.Projected != nil:
			vs.Type = "projected"
			for _, src := range v.Projected.Sources {
				switch {
				case src.ServiceAccountToken != nil:
					vs.Source = "serviceAccountToken"
				case src.Secret != nil:
					secrets[src.Secret.Name] = true
				case src.ConfigMap != nil:
					configMaps[src.ConfigMap.Name] = true
				}
			}
		case v.EmptyDir != nil:
			vs.Type = "emptyDir"
		case v.PersistentVolumeClaim != nil:
			vs.Type, vs.Source = "persistentVolumeClaim", v.PersistentVolumeClaim.ClaimName
			vs.ReadOnly = v.PersistentVolumeClaim.ReadOnly
		case v.DownwardAPI != nil:
			vs.Type = "downwardAPI"
		case v.CSI != nil:
			vs.Type, vs.Source = "csi", v.CSI.Driver
		case v.Ephemeral != nil:
			vs.Type = "ephemeral"
		case v.NFS != nil:
			vs.Type, vs.Source = "nfs", v.NFS.Server+":"+v.NFS.Path
		default:
			vs.Type = "other"
		}
		sum.Volumes = append(sum.Volumes, vs)
	}
	sum.Secrets = sortedKeys(secrets)
	sum.ConfigMaps = sortedKeys(configMaps)
	for _, svc := range w.Services {
		es := ExposureSummary{Name: svc.Name, Type: string(svc.Spec.Type)}
		for _, p := range svc.Spec.Ports {
			port := fmt.Sprintf("%d/%s", p.Port, p.Protocol)
			if p.NodePort != 0 {
				port += fmt.Sprintf(" (node %d)", p.NodePort)
			}
			es.Ports = append(es.Ports, port)
		}
		sum.Services = append(sum.Services, es)
	}
	for _, ing := range w.Ingresses {
		es := ExposureSummary{Name: ing.Name, Type: "Ingress"}
		for _, r := range ing.Spec.Rules {
			if r.Host != "" && !slices.Contains(es.Hosts, r.Host) {
				es.Hosts = append(es.Hosts, r.Host)
			}
		}
		sum.Ingresses = append(sum.Ingresses, es)
	}
	return sum
}

type containerSeccomp struct{ container, profile string }

// seccompSummary is the one profile every container runs with ("" when none is set), or, when
// containers differ, each container's ("RuntimeDefault (app), unset (sidecar)").
func seccompSummary(cs []containerSeccomp) string {
	if len(cs) == 0 {
		return ""
	}
	same := true
	for _, c := range cs[1:] {
		same = same && c.profile == cs[0].profile
	}
	if same {
		return cs[0].profile
	}
	parts := make([]string, len(cs))
	for i, c := range cs {
		p := c.profile
		if p == "" {
			p = "unset"
		}
		parts[i] = fmt.Sprintf("%s (%s)", p, c.container)
	}
	return strings.Join(parts, ", ")
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		if k != "" {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
