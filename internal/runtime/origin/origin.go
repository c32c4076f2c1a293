// Package origin attributes a kernel event to where it happened: the node, the cgroup v2 path
// of the process, the container id and runtime that path encodes, the pod UID the kubelet put
// in it, and, when the sensor watches the API server, the pod, namespace, workload and
// container name. Standalone it needs nothing but the cgroup filesystem.
package origin

import (
	"sync"

	"redoubt.dev/redoubt/internal/runtime/cgroup"
	"redoubt.dev/redoubt/internal/runtime/event"
)

// maxCached bounds the cgroup cache: past it the cache starts over (cgroups come and go with
// pods, and a stale entry only costs a re-resolution).
const maxCached = 1 << 16

// Attributor turns cgroup ids into origins. It is safe for concurrent use.
type Attributor struct {
	node    string
	cgroups *cgroup.Resolver
	pods    *PodIndex

	mu    sync.Mutex
	cache map[uint64]cgroupInfo
}

type cgroupInfo struct {
	path      string
	container cgroup.Container
}

// NewAttributor attributes to node, resolving cgroup ids under cgroups. pods may be nil
// (standalone): origins then carry the container id, cgroup path and pod UID only.
func NewAttributor(node string, cgroups *cgroup.Resolver, pods *PodIndex) *Attributor {
	return &Attributor{node: node, cgroups: cgroups, pods: pods, cache: map[uint64]cgroupInfo{}}
}

// Origin attributes the cgroup id. An id the cgroup filesystem no longer knows (the cgroup
// was removed before the event was read) gives the node only.
func (a *Attributor) Origin(cgroupID uint64) event.Origin {
	o := event.Origin{Node: a.node}
	info, ok := a.lookup(cgroupID)
	if !ok {
		return o
	}
	o.CgroupPath = info.path
	o.ContainerID = info.container.ID
	o.Runtime = info.container.Runtime
	o.PodUID = info.container.PodUID
	if a.pods != nil {
		a.pods.fill(&o)
	}
	return o
}

func (a *Attributor) lookup(id uint64) (cgroupInfo, bool) {
	a.mu.Lock()
	info, ok := a.cache[id]
	a.mu.Unlock()
	if ok {
		return info, true
	}
	path, ok := a.cgroups.Path(id)
	if !ok {
		return cgroupInfo{}, false
	}
	c, _ := cgroup.Parse(path)
	info = cgroupInfo{path: path, container: c}
	a.mu.Lock()
	if len(a.cache) >= maxCached {
		a.cache = map[uint64]cgroupInfo{}
	}
	a.cache[id] = info
	a.mu.Unlock()
	return info, true
}
