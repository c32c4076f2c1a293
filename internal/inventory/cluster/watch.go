package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"redoubt.dev/redoubt/internal/inventory"
)

// Watch keeps the objects of a live cluster current with one shared informer per kind (the
// same kinds Load lists, Secrets and ConfigMaps through metadata informers so their values are
// never requested) and builds a snapshot from them on demand. Informers watch; nothing is
// re-listed on a timer, so an idle cluster costs no CPU. When the API server goes away the
// informers keep their last state and reconnect by themselves.
type Watch struct {
	conn      *Connection
	namespace string
	kinds     []kind
	informers []cache.SharedIndexInformer
	handler   WatchHandler
	versions  discovery.ServerVersionInterface

	mu       sync.Mutex
	problems map[string]inventory.Problem // by resource: a kind that cannot be listed
	absent   map[string]bool              // kinds the cluster does not serve
}

// WatchHandler is told about what a Watch sees. Its methods are called from the informers'
// goroutines and must not block.
type WatchHandler interface {
	// Changed is called for every added, changed (new resourceVersion) or deleted object.
	Changed(resource string)
	// WatchError is called when a list or watch of a kind fails; the informer retries by itself.
	WatchError(resource string, err error)
}

// NewWatch discovers the kinds to watch (custom kinds that are served at this moment) and makes
// their informers. Nothing is read until Run.
func NewWatch(conn *Connection, opts Options, h WatchHandler) (*Watch, error) {
	cl, err := conn.Clients()
	if err != nil {
		return nil, err
	}
	// The version is asked with a deadline: the answer is also how the server learns the API
	// server is back after an outage.
	vcfg := rest.CopyConfig(conn.Config)
	vcfg.Timeout = versionTimeout
	vc, err := discovery.NewDiscoveryClientForConfig(vcfg)
	if err != nil {
		return nil, conn.describe("client", err)
	}
	return newWatch(conn, cl, vc, opts, h)
}

// NewWatchWith is NewWatch with clients made elsewhere (a benchmark feeds the informers from
// recorded lists through client-go's fake clientsets).
func NewWatchWith(conn *Connection, cl Clients, opts Options, h WatchHandler) (*Watch, error) {
	return newWatch(conn, cl, cl.Kube.Discovery(), opts, h)
}

// versionTimeout bounds one request for the API server's version.
const versionTimeout = 5 * time.Second

func newWatch(conn *Connection, cl Clients, vc discovery.ServerVersionInterface, opts Options, h WatchHandler) (*Watch, error) {
	kinds := cl.kinds()
	w := &Watch{conn: conn, namespace: opts.Namespace, kinds: kinds, handler: h, versions: vc,
		problems: map[string]inventory.Problem{}, absent: map[string]bool{}}
	for _, k := range kinds {
		ns := opts.Namespace
		if k.clusterScoped {
			ns = ""
		}
		inf := k.informer(ns)
		if err := inf.SetTransform(func(obj any) (any, error) {
			if o, ok := obj.(runtime.Object); ok {
				return trim(o), nil
			}
			return obj, nil
		}); err != nil {
			return nil, fmt.Errorf("informer of %s: %w", k.resource, err)
		}
		resource := k.resource
		if err := inf.SetWatchErrorHandlerWithContext(func(ctx context.Context, r *cache.Reflector, err error) {
			w.watchError(ctx, r, resource, err)
		}); err != nil {
			return nil, fmt.Errorf("informer of %s: %w", k.resource, err)
		}
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: func(any) { w.changed(resource) },
			UpdateFunc: func(old, cur any) {
				// A relist after a reconnection replays every object; only real changes count.
				if o, ok := old.(metav1.Object); ok {
					if c, ok := cur.(metav1.Object); ok && o.GetResourceVersion() == c.GetResourceVersion() {
						return
					}
				}
				w.changed(resource)
			},
			DeleteFunc: func(any) { w.changed(resource) },
		}); err != nil {
			return nil, fmt.Errorf("informer of %s: %w", k.resource, err)
		}
		w.informers = append(w.informers, inf)
	}
	return w, nil
}

// ServerVersion asks the API server its version ("v1.37.2"), within a few seconds.
func (w *Watch) ServerVersion() (string, error) {
	v, err := w.versions.ServerVersion()
	if err != nil {
		return "", w.conn.describe("server version", err)
	}
	return v.GitVersion, nil
}

// Resources names the kinds watched, in the order Load lists them.
func (w *Watch) Resources() []string {
	out := make([]string, len(w.kinds))
	for i, k := range w.kinds {
		out[i] = k.resource
	}
	return out
}

func (w *Watch) changed(resource string) {
	w.mu.Lock()
	delete(w.problems, resource)
	w.mu.Unlock()
	if w.handler != nil {
		w.handler.Changed(resource)
	}
}

// watchError records a kind that cannot be listed (forbidden, say: it becomes a snapshot
// problem, as in Load, until it lists again) and passes every error on to the handler.
func (w *Watch) watchError(ctx context.Context, r *cache.Reflector, resource string, err error) {
	switch {
	case apierrors.IsResourceExpired(err) || apierrors.IsGone(err) || errors.Is(err, io.EOF):
		// The normal end of a watch; the informer re-lists or re-watches.
		cache.DefaultWatchErrorHandler(ctx, r, err)
		return
	case apierrors.IsNotFound(err):
		// The kind is not served by this cluster, as Load treats it.
		w.mu.Lock()
		w.absent[resource] = true
		w.mu.Unlock()
		return
	case apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err):
		w.mu.Lock()
		w.problems[resource] = inventory.Problem{Object: resource, Message: w.conn.describe("list "+resource, err).Error()}
		w.mu.Unlock()
	}
	if w.handler != nil {
		w.handler.WatchError(resource, w.conn.describe("watch "+resource, err))
	}
}

// Run starts the informers and returns when ctx ends and they have stopped.
func (w *Watch) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, inf := range w.informers {
		wg.Go(func() { inf.RunWithContext(ctx) })
	}
	wg.Wait()
}

// Pending names the kinds whose first list has not arrived yet (and is not failing with a
// problem such as forbidden, which the snapshot reports instead).
func (w *Watch) Pending() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for i, inf := range w.informers {
		r := w.kinds[i].resource
		if _, failed := w.problems[r]; !failed && !w.absent[r] && !inf.HasSynced() {
			out = append(out, r)
		}
	}
	return out
}

// WaitForSync blocks until every kind has been listed once (or reports a problem), checking
// again when the handler is told of a change or an error, or when ctx ends.
func (w *Watch) WaitForSync(ctx context.Context) error {
	for {
		pending := w.Pending()
		if len(pending) == 0 {
			return nil
		}
		// HasSynced has no notification; this wait lasts only until the first sync.
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the first list of %v: %w", pending, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Snapshot builds a snapshot from the informers' current objects, through the same code as
// Load. version is the API server's version as last learnt. The informers' objects are copied:
// the Builder applies defaults to what it is given.
func (w *Watch) Snapshot(version string) *inventory.Snapshot {
	objs := make([][]runtime.Object, len(w.kinds))
	for i, inf := range w.informers {
		items := inf.GetStore().List()
		list := make([]runtime.Object, 0, len(items))
		for _, it := range items {
			if o, ok := it.(runtime.Object); ok {
				list = append(list, o.DeepCopyObject())
			}
		}
		objs[i] = list
	}
	w.mu.Lock()
	problems := make([]inventory.Problem, 0, len(w.problems))
	for _, p := range w.problems {
		problems = append(problems, p)
	}
	w.mu.Unlock()
	return assemble(w.conn, w.namespace, version, w.kinds, objs, problems)
}
