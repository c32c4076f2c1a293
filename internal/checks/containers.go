package checks

import (
	"iter"

	corev1 "k8s.io/api/core/v1"
)

// ContainerKind says which list of the pod spec a container is in.
type ContainerKind string

// The container lists of a pod spec.
const (
	Regular   ContainerKind = "container"
	Init      ContainerKind = "init container"
	Ephemeral ContainerKind = "ephemeral container"
)

// container is one container of a pod spec, whichever list it is in.
type container struct {
	*corev1.Container
	Kind ContainerKind
}

// containers visits every container, init container and ephemeral container of a pod spec,
// so no check walks the three lists by hand. Ephemeral containers are presented as Containers:
// the API guarantees the two types share their fields.
func containers(spec *corev1.PodSpec) iter.Seq[container] {
	return func(yield func(container) bool) {
		for i := range spec.InitContainers {
			if !yield(container{&spec.InitContainers[i], Init}) {
				return
			}
		}
		for i := range spec.Containers {
			if !yield(container{&spec.Containers[i], Regular}) {
				return
			}
		}
		for i := range spec.EphemeralContainers {
			c := corev1.Container(spec.EphemeralContainers[i].EphemeralContainerCommon)
			if !yield(container{&c, Ephemeral}) {
				return
			}
		}
	}
}
