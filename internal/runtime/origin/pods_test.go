package origin

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"redoubt.dev/redoubt/internal/runtime/event"
)

func TestWorkload(t *testing.T) {
	yes := true
	owner := func(kind, name string) []metav1.OwnerReference {
		return []metav1.OwnerReference{{Kind: kind, Name: name, Controller: &yes}}
	}
	cases := []struct {
		name       string
		meta       metav1.ObjectMeta
		kind, want string
	}{
		{"deployment through its replicaset", metav1.ObjectMeta{Name: "web-7d9f-x", Labels: map[string]string{"pod-template-hash": "7d9f"}, OwnerReferences: owner("ReplicaSet", "web-7d9f")}, "Deployment", "web"},
		{"a replicaset of its own", metav1.ObjectMeta{Name: "rs-x", OwnerReferences: owner("ReplicaSet", "rs")}, "ReplicaSet", "rs"},
		{"statefulset", metav1.ObjectMeta{Name: "db-0", OwnerReferences: owner("StatefulSet", "db")}, "StatefulSet", "db"},
		{"bare pod", metav1.ObjectMeta{Name: "debug"}, "Pod", "debug"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kind, name := Workload(&corev1.Pod{ObjectMeta: tc.meta})
			if kind != tc.kind || name != tc.want {
				t.Errorf("got %s/%s, want %s/%s", kind, name, tc.kind, tc.want)
			}
		})
	}
}

// TestIndexFollowsPods feeds the index the objects an informer delivers and checks an
// origin is filled from the container id, then forgotten when the pod goes.
func TestIndexFollowsPods(t *testing.T) {
	const id = "4f1c9a3b2e6d8f7a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a"
	idx := &PodIndex{byUID: map[string]podInfo{}, byContainer: map[string]containerRef{}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "shop", UID: types.UID("u-1")}}
	idx.put(pod) // scheduled, not started: no container id yet
	o := event.Origin{PodUID: "u-1"}
	idx.fill(&o)
	if o.Pod != "web-0" || o.Container != "" {
		t.Errorf("by pod UID: %+v", o)
	}
	pod = pod.DeepCopy()
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", ContainerID: "containerd://" + id}}
	idx.put(pod)
	o = event.Origin{ContainerID: id}
	idx.fill(&o)
	if o.Pod != "web-0" || o.Namespace != "shop" || o.Container != "app" || o.PodUID != "u-1" || o.Workload != "web-0" {
		t.Errorf("by container id: %+v", o)
	}
	idx.remove(cache.DeletedFinalStateUnknown{Key: "shop/web-0", Obj: pod})
	o = event.Origin{ContainerID: id, PodUID: "u-1"}
	idx.fill(&o)
	if o.Pod != "" || o.Container != "" {
		t.Errorf("after delete: %+v", o)
	}
}
