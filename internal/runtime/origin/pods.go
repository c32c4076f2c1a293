package origin

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"redoubt.dev/redoubt/internal/runtime/event"
)

// PodIndex knows the pods the API server has scheduled on one node, by pod UID and by
// container id, kept current by an informer on pods with fieldSelector spec.nodeName.
type PodIndex struct {
	factory informers.SharedInformerFactory

	mu          sync.RWMutex
	byUID       map[string]podInfo
	byContainer map[string]containerRef
}

type podInfo struct {
	name, namespace, workloadKind, workload string
	containers                              []string // container ids, to forget them with the pod
}

type containerRef struct {
	podUID, name string
}

// WatchPods starts the informer for node's pods and returns once it has listed them. The
// informer stops when ctx is done; Stop waits for it.
func WatchPods(ctx context.Context, cs kubernetes.Interface, node string) (*PodIndex, error) {
	idx := &PodIndex{byUID: map[string]podInfo{}, byContainer: map[string]containerRef{}}
	idx.factory = informers.NewSharedInformerFactoryWithOptions(cs, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", node).String()
		}))
	inf := idx.factory.Core().V1().Pods().Informer()
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { idx.put(obj) },
		UpdateFunc: func(_, obj any) { idx.put(obj) },
		DeleteFunc: func(obj any) { idx.remove(obj) },
	})
	if err != nil {
		return nil, fmt.Errorf("watching the pods of node %s: %w", node, err)
	}
	idx.factory.Start(ctx.Done())
	syncCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if !cache.WaitForCacheSync(syncCtx.Done(), inf.HasSynced) {
		idx.factory.Shutdown()
		return nil, fmt.Errorf("listing the pods of node %s from the API server did not finish within a minute (check --kubeconfig and that it may list pods)", node)
	}
	return idx, nil
}

// Stop waits for the informer to end; cancel the context given to WatchPods first.
func (idx *PodIndex) Stop() { idx.factory.Shutdown() }

// containerID strips the runtime prefix from a status containerID: containerd://<id>.
func containerID(s string) string {
	if _, id, ok := strings.Cut(s, "://"); ok {
		return id
	}
	return s
}

func (idx *PodIndex) put(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	uid := string(pod.UID)
	info := podInfo{name: pod.Name, namespace: pod.Namespace}
	info.workloadKind, info.workload = Workload(pod)
	idx.mu.Lock()
	defer idx.mu.Unlock()
	for _, id := range idx.byUID[uid].containers {
		delete(idx.byContainer, id)
	}
	for _, list := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses, pod.Status.EphemeralContainerStatuses} {
		for _, st := range list {
			if st.ContainerID == "" {
				continue
			}
			id := containerID(st.ContainerID)
			idx.byContainer[id] = containerRef{podUID: uid, name: st.Name}
			info.containers = append(info.containers, id)
		}
	}
	idx.byUID[uid] = info
}

func (idx *PodIndex) remove(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	idx.mu.Lock()
	defer idx.mu.Unlock()
	for _, id := range idx.byUID[string(pod.UID)].containers {
		delete(idx.byContainer, id)
	}
	delete(idx.byUID, string(pod.UID))
}

// fill adds what the API server says to an origin that has a container id or pod UID. The
// container id wins over the path's pod UID: it is the runtime's own name for the container.
func (idx *PodIndex) fill(o *event.Origin) {
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	uid := o.PodUID
	if ref, ok := idx.byContainer[o.ContainerID]; ok && o.ContainerID != "" {
		uid = ref.podUID
		o.PodUID = uid
		o.Container = ref.name
	}
	info, ok := idx.byUID[uid]
	if !ok || uid == "" {
		return
	}
	o.Pod, o.Namespace = info.name, info.namespace
	o.WorkloadKind, o.Workload = info.workloadKind, info.workload
}

// Workload names the pod's owning workload: a ReplicaSet's pods belong to its Deployment
// (the ReplicaSet's name less the pod-template-hash), a controller's pods to the controller,
// and a bare pod to itself.
func Workload(pod *corev1.Pod) (kind, name string) {
	ref := metav1.GetControllerOf(pod)
	if ref == nil {
		return "Pod", pod.Name
	}
	if ref.Kind == "ReplicaSet" {
		if hash := pod.Labels["pod-template-hash"]; hash != "" && strings.HasSuffix(ref.Name, "-"+hash) {
			return "Deployment", strings.TrimSuffix(ref.Name, "-"+hash)
		}
	}
	return ref.Kind, ref.Name
}
