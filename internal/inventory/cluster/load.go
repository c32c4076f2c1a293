package cluster

import (
	"cmp"
	"context"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/pager"

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

// Clients are the API clients a snapshot is read with: typed, metadata-only (Secrets and
// ConfigMaps) and dynamic (custom kinds).
type Clients struct {
	Kube     kubernetes.Interface
	Metadata metadata.Interface
	Dynamic  dynamic.Interface
}

// Clients makes the connection's clients.
func (c *Connection) Clients() (Clients, error) {
	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return Clients{}, c.describe("client", err)
	}
	meta, err := metadata.NewForConfig(c.Config)
	if err != nil {
		return Clients{}, c.describe("client", err)
	}
	dyn, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		return Clients{}, c.describe("client", err)
	}
	return Clients{Kube: cs, Metadata: meta, Dynamic: dyn}, nil
}

// kinds are the kinds these clients read: built-in, metadata-only, and the custom kinds the
// cluster serves at this moment (asked through discovery).
func (cl Clients) kinds() []kind {
	kinds := typedKinds(cl.Kube)
	kinds = append(kinds, metadataKinds(cl.Metadata)...)
	return append(kinds, customKinds(cl.Kube.Discovery(), cl.Dynamic)...)
}

// source describes the snapshot's origin.
func (c *Connection) source(namespace, version string) inventory.Source {
	return inventory.Source{Kind: inventory.SourceCluster, Context: c.Context, Cluster: c.Cluster,
		Server: c.Server, Namespace: namespace, ServerVersion: version}
}

// Load reads a snapshot of the cluster. It fails only when the cluster cannot be reached at all;
// a kind that cannot be listed (forbidden, say) is recorded as a problem and the rest is read.
func Load(ctx context.Context, conn *Connection, opts Options) (*inventory.Snapshot, error) {
	namespace := opts.Namespace
	pageSize := opts.PageSize
	if pageSize <= 0 {
		pageSize = DefaultPageSize
	}
	cl, err := conn.Clients()
	if err != nil {
		return nil, err
	}
	version, err := cl.Kube.Discovery().ServerVersion()
	if err != nil {
		return nil, conn.describe("server version", err)
	}
	kinds := cl.kinds()

	var mu sync.Mutex
	results := make([][]runtime.Object, len(kinds))
	var problems []inventory.Problem
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, k := range kinds {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ns := namespace
			if k.clusterScoped {
				ns = ""
			}
			objs, err := listAll(ctx, k, ns, pageSize)
			if err != nil {
				if apierrors.IsNotFound(err) {
					return // the kind is not served by this cluster
				}
				mu.Lock()
				problems = append(problems, inventory.Problem{Object: k.resource,
					Message: conn.describe("list "+k.resource, err).Error()})
				mu.Unlock()
				return
			}
			results[i] = objs
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return assemble(conn, namespace, version.GitVersion, kinds, results, problems), nil
}

// assemble builds a snapshot from the objects read of each kind (objs[i] are of kinds[i]). Load
// and Watch both end here, so the same objects give the same snapshot whichever read them. The
// objects are the Builder's afterwards: callers hand over copies of anything they keep.
func assemble(conn *Connection, namespace, version string, kinds []kind, objs [][]runtime.Object, problems []inventory.Problem) *inventory.Snapshot {
	b := inventory.NewBuilder(conn.source(namespace, version), namespace)
	// Kinds are read concurrently; their problems are reported in a fixed order.
	problems = slices.Clone(problems)
	slices.SortFunc(problems, func(a, b inventory.Problem) int {
		return cmp.Or(cmp.Compare(a.Object, b.Object), cmp.Compare(a.Message, b.Message))
	})
	for _, p := range problems {
		b.Problem(p)
	}
	for i, k := range kinds {
		for _, obj := range objs[i] {
			it := normalize(k, obj)
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
			b.Add(it.typed, inventory.Origin{Cluster: conn.Cluster, UID: string(m.GetUID())}, nil)
		}
	}
	return b.Snapshot()
}

// listAll pages through one kind.
func listAll(ctx context.Context, k kind, ns string, pageSize int64) ([]runtime.Object, error) {
	p := pager.New(func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		return k.list(ctx, ns, opts)
	})
	p.PageSize = pageSize
	var out []runtime.Object
	err := p.EachListItem(ctx, metav1.ListOptions{}, func(obj runtime.Object) error {
		out = append(out, trim(obj))
		return nil
	})
	return out, err
}

// trim drops what no analyzer reads and would only cost memory: the managed-fields bookkeeping.
// Load and the informers of Watch trim alike, so both see the same objects.
func trim(obj runtime.Object) runtime.Object {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
	}
	return obj
}

// normalize turns one object as the API returned it into what the Builder takes: metadata-only
// objects become typed Secrets and ConfigMaps with no values, custom resources become
// Unstructured (AdminNetworkPolicies typed, as the manifest loader does).
func normalize(k kind, obj runtime.Object) item {
	if pm, ok := obj.(*metav1.PartialObjectMetadata); ok && k.fromMetadata != nil {
		return item{typed: k.fromMetadata(pm)}
	}
	if u, ok := obj.(interface{ UnstructuredContent() map[string]any }); ok {
		m := u.UnstructuredContent()
		md, _ := m["metadata"].(map[string]any)
		apiVersion, _ := m["apiVersion"].(string)
		kindName, _ := m["kind"].(string)
		name, _ := md["name"].(string)
		ns, _ := md["namespace"].(string)
		uid, _ := md["uid"].(string)
		other := &inventory.Unstructured{APIVersion: apiVersion, Kind: kindName, Namespace: ns, Name: name,
			Origin: inventory.Origin{UID: uid}, Object: m}
		if l, ok := md["labels"].(map[string]any); ok {
			other.Labels = map[string]string{}
			for k, v := range l {
				if s, ok := v.(string); ok {
					other.Labels[k] = s
				}
			}
		}
		if typed, err := manifest.Scheme.New(schema.FromAPIVersionAndKind(apiVersion, kindName)); err == nil {
			if runtime.DefaultUnstructuredConverter.FromUnstructured(m, typed) == nil {
				return item{typed: typed}
			}
		}
		return item{other: other}
	}
	return item{typed: obj}
}
