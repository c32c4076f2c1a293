// Package podmap names the workload behind a pod or a container, for runtime events that only
// know the pod's name and namespace or the container's ID (Falco, Tetragon). With a snapshot of
// the live cluster, pods map to the workload that owns them (a Deployment, not its ReplicaSet's
// pod) and container IDs, full or Falco's 12-character short form, map to their pod. Without
// one, a finding names the pod.
package podmap

import (
	"strings"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
)

// Mapper resolves pods and containers to workloads. The zero value maps nothing.
type Mapper struct {
	cluster    string
	pods       map[string]*inventory.Pod // namespace/name
	containers map[string]container      // container ID without runtime prefix
}

type container struct {
	pod  *inventory.Pod
	name string
}

// New returns a mapper over the snapshot's pods; a nil snapshot gives a mapper that maps nothing.
func New(s *inventory.Snapshot) *Mapper {
	m := &Mapper{pods: map[string]*inventory.Pod{}, containers: map[string]container{}}
	if s == nil {
		return m
	}
	m.cluster = s.Source.Cluster
	for _, p := range s.Pods {
		if p.Pod == nil {
			continue
		}
		m.pods[p.Namespace+"/"+p.Name] = p
		statuses := append(append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...), p.Status.EphemeralContainerStatuses...)
		for _, cs := range statuses {
			if id := TrimRuntime(cs.ContainerID); id != "" {
				m.containers[id] = container{pod: p, name: cs.Name}
			}
		}
	}
	return m
}

// TrimRuntime removes the runtime prefix of a container ID (containerd://, cri-o://, docker://).
func TrimRuntime(id string) string {
	if _, after, ok := strings.Cut(id, "://"); ok {
		return after
	}
	return id
}

// Pod is what an event says about where it happened.
type Pod struct {
	Namespace, Name, Container, ContainerID string
	// Workload and WorkloadKind are the agent's own attribution, when it has one (Tetragon).
	Workload, WorkloadKind string
}

// Resource returns the finding resource for the pod: its owning workload when the snapshot knows
// the pod (or the container ID), else the agent's attribution, else the pod itself. ok is false
// when the event names no pod at all (a host process).
func (m *Mapper) Resource(p Pod) (res finding.Resource, ok bool) {
	if m == nil {
		m = &Mapper{}
	}
	var known *inventory.Pod
	if p.Namespace != "" && p.Name != "" {
		known = m.pods[p.Namespace+"/"+p.Name]
	}
	if id := TrimRuntime(p.ContainerID); known == nil && id != "" {
		if c, found := m.containers[id]; found {
			known, p.Container = c.pod, firstNonEmpty(p.Container, c.name)
		} else if len(id) >= 12 {
			for full, c := range m.containers {
				if strings.HasPrefix(full, id) {
					known, p.Container = c.pod, firstNonEmpty(p.Container, c.name)
					break
				}
			}
		}
	}
	switch {
	case known != nil && known.Workload != nil:
		w := known.Workload
		return finding.Resource{Cluster: m.cluster, Namespace: w.Namespace, Kind: w.Kind, Name: w.Name, Container: p.Container}, true
	case known != nil:
		return finding.Resource{Cluster: m.cluster, Namespace: known.Namespace, Kind: "Pod", Name: known.Name, Container: p.Container}, true
	case p.Workload != "" && p.WorkloadKind != "" && p.Namespace != "":
		return finding.Resource{Cluster: m.cluster, Namespace: p.Namespace, Kind: p.WorkloadKind, Name: p.Workload, Container: p.Container}, true
	case p.Name != "":
		return finding.Resource{Cluster: m.cluster, Namespace: p.Namespace, Kind: "Pod", Name: p.Name, Container: p.Container}, true
	}
	return finding.Resource{}, false
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
