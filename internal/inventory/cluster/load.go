package cluster

import (
	"context"
	"fmt"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/pager"

	corev1 "k8s.io/api/core/v1"

	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/inventory/manifest"
)

// DefaultPageSize is how many objects one list request asks for.
const DefaultPageSize = 500

// Options say what to read.
type Options struct {
	// Namespace limits the snapshot to one namespace; empty means every namespace.
	// Cluster-scoped objects (nodes, cluster RBAC, AdminNetworkPolicies) are always read.
	Namespace string
	// PageSize is the number of objects per list request; zero means DefaultPageSize.
	PageSize int64
}

// item is one object read, ready for the Builder.
type item struct {
	typed runtime.Object
	other *inventory.Unstructured
}

// lister reads one kind of object.
type lister struct {
	resource string
	list     func(ctx context.Context, ns string, opts metav1.ListOptions) (runtime.Object, error)
	// clusterScoped kinds are read whole even for a namespaced scan.
	clusterScoped bool
}

// Load reads a snapshot of the cluster. It fails only when the cluster cannot be reached at all;
// a kind that cannot be listed (forbidden, say) is recorded as a problem and the rest is read.
func Load(ctx context.Context, conn *Connection, opts Options) (*inventory.Snapshot, error) {
	namespace := opts.Namespace
	pageSize := opts.PageSize
	if pageSize <= 0 {
		pageSize = DefaultPageSize
	}
	cs, err := kubernetes.NewForConfig(conn.Config)
	if err != nil {
		return nil, conn.describe("client", err)
	}
	version, err := cs.Discovery().ServerVersion()
	if err != nil {
		return nil, conn.describe("server version", err)
	}
	meta, err := metadata.NewForConfig(conn.Config)
	if err != nil {
		return nil, conn.describe("client", err)
	}
	dyn, err := dynamic.NewForConfig(conn.Config)
	if err != nil {
		return nil, conn.describe("client", err)
	}
	src := inventory.Source{Kind: inventory.SourceCluster, Context: conn.Context, Cluster: conn.Cluster,
		Server: conn.Server, Namespace: namespace, ServerVersion: version.GitVersion}
	b := inventory.NewBuilder(src, namespace)

	listers := typedListers(cs)
	listers = append(listers, metadataListers(meta)...)
	listers = append(listers, customListers(cs.Discovery(), dyn)...)

	var mu sync.Mutex
	results := make([][]item, len(listers))
	var problems []inventory.Problem
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, l := range listers {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ns := namespace
			if l.clusterScoped {
				ns = ""
			}
			items, err := listAll(ctx, l, ns, pageSize)
			if err != nil {
				if apierrors.IsNotFound(err) {
					return // the kind is not served by this cluster
				}
				mu.Lock()
				problems = append(problems, inventory.Problem{Object: l.resource,
					Message: conn.describe("list "+l.resource, err).Error()})
				mu.Unlock()
				return
			}
			results[i] = items
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, p := range problems {
		b.Problem(p)
	}
	origin := func(obj metav1.Object) inventory.Origin {
		return inventory.Origin{Cluster: conn.Cluster, UID: string(obj.GetUID())}
	}
	for _, items := range results {
		for _, it := range items {
			if it.other != nil {
				b.AddUnstructured(it.other)
				continue
			}
			m, ok := it.typed.(metav1.Object)
			if !ok {
				continue
			}
			if namespace != "" {
				if ns, isNS := it.typed.(*corev1.Namespace); isNS && ns.Name != namespace {
					continue
				}
			}
			b.Add(it.typed, origin(m), nil)
		}
	}
	return b.Snapshot(), nil
}

// listAll pages through one kind.
func listAll(ctx context.Context, l lister, ns string, pageSize int64) ([]item, error) {
	p := pager.New(func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		return l.list(ctx, ns, opts)
	})
	p.PageSize = pageSize
	var out []item
	err := p.EachListItem(ctx, metav1.ListOptions{}, func(obj runtime.Object) error {
		out = append(out, toItem(obj))
		return nil
	})
	return out, err
}

func toItem(obj runtime.Object) item {
	if u, ok := obj.(interface{ UnstructuredContent() map[string]any }); ok {
		m := u.UnstructuredContent()
		md, _ := m["metadata"].(map[string]any)
		apiVersion, _ := m["apiVersion"].(string)
		kind, _ := m["kind"].(string)
		name, _ := md["name"].(string)
		ns, _ := md["namespace"].(string)
		uid, _ := md["uid"].(string)
		other := &inventory.Unstructured{APIVersion: apiVersion, Kind: kind, Namespace: ns, Name: name,
			Origin: inventory.Origin{UID: uid}, Object: m}
		if l, ok := md["labels"].(map[string]any); ok {
			other.Labels = map[string]string{}
			for k, v := range l {
				if s, ok := v.(string); ok {
					other.Labels[k] = s
				}
			}
		}
		// AdminNetworkPolicies are typed in the snapshot, like the manifest loader does.
		if typed, err := manifest.Scheme.New(schema.FromAPIVersionAndKind(apiVersion, kind)); err == nil {
			if runtime.DefaultUnstructuredConverter.FromUnstructured(m, typed) == nil {
				return item{typed: typed}
			}
		}
		return item{other: other}
	}
	return item{typed: obj}
}

// customListers lists the custom resources Redoubt recognises, when the cluster serves them:
// AdminNetworkPolicies and the CNI-specific network policies.
func customListers(disc discovery.DiscoveryInterface, dyn dynamic.Interface) []lister {
	wanted := []struct {
		gvr           schema.GroupVersionResource
		clusterScoped bool
	}{
		{schema.GroupVersionResource{Group: "policy.networking.k8s.io", Version: "v1alpha1", Resource: "adminnetworkpolicies"}, true},
		{schema.GroupVersionResource{Group: "policy.networking.k8s.io", Version: "v1alpha1", Resource: "baselineadminnetworkpolicies"}, true},
		{schema.GroupVersionResource{Group: "cilium.io", Version: "v2", Resource: "ciliumnetworkpolicies"}, false},
		{schema.GroupVersionResource{Group: "cilium.io", Version: "v2", Resource: "ciliumclusterwidenetworkpolicies"}, true},
		{schema.GroupVersionResource{Group: "crd.projectcalico.org", Version: "v1", Resource: "networkpolicies"}, false},
		{schema.GroupVersionResource{Group: "crd.projectcalico.org", Version: "v1", Resource: "globalnetworkpolicies"}, true},
	}
	var out []lister
	for _, w := range wanted {
		res, err := disc.ServerResourcesForGroupVersion(w.gvr.GroupVersion().String())
		if err != nil || res == nil {
			continue
		}
		served := false
		for _, r := range res.APIResources {
			if r.Name == w.gvr.Resource {
				served = true
			}
		}
		if !served {
			continue
		}
		gvr := w.gvr
		out = append(out, lister{resource: fmt.Sprintf("%s.%s", gvr.Resource, gvr.Group), clusterScoped: w.clusterScoped,
			list: func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
				if ns == "" {
					return dyn.Resource(gvr).List(ctx, o)
				}
				return dyn.Resource(gvr).Namespace(ns).List(ctx, o)
			}})
	}
	return out
}
