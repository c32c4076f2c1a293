package cluster

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	appsinformers "k8s.io/client-go/informers/apps/v1"
	batchinformers "k8s.io/client-go/informers/batch/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	discoveryinformers "k8s.io/client-go/informers/discovery/v1"
	networkinginformers "k8s.io/client-go/informers/networking/v1"
	rbacinformers "k8s.io/client-go/informers/rbac/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
)

// kind is one kind of object the snapshot holds and the two ways of reading it: list (Load,
// one pass) and informer (Watch, kept current). Both hand their objects to normalize, so a
// snapshot from either is built from the same objects by the same code.
type kind struct {
	resource string
	// clusterScoped kinds are read whole even for a namespaced snapshot.
	clusterScoped bool
	list          func(ctx context.Context, ns string, opts metav1.ListOptions) (runtime.Object, error)
	// informer makes an informer of the kind in namespace ns ("" for every namespace), with no
	// resync: changes arrive as watch events, nothing is re-listed on a timer.
	informer func(ns string) cache.SharedIndexInformer
	// fromMetadata turns a metadata-only object into the typed object the Builder takes (nil for
	// kinds read whole).
	fromMetadata func(*metav1.PartialObjectMetadata) runtime.Object
}

type listFn = func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error)

// noIndex is the indexers of every informer: the snapshot is rebuilt from the whole store, so
// no namespace index is kept.
var noIndex = cache.Indexers{}

// typedKinds are the built-in kinds the snapshot holds, read in full. Items of a typed list
// come back without apiVersion/kind; the Builder switches on the Go type, so it does not care.
func typedKinds(cs kubernetes.Interface) []kind {
	k := func(resource string, clusterScoped bool, list listFn, inf func(ns string) cache.SharedIndexInformer) kind {
		return kind{resource: resource, clusterScoped: clusterScoped, list: list, informer: inf}
	}
	return []kind{
		k("namespaces", true, func(ctx context.Context, _ string, o metav1.ListOptions) (runtime.Object, error) {
			return cs.CoreV1().Namespaces().List(ctx, o)
		}, func(string) cache.SharedIndexInformer { return coreinformers.NewNamespaceInformer(cs, 0, noIndex) }),
		k("nodes", true, func(ctx context.Context, _ string, o metav1.ListOptions) (runtime.Object, error) {
			return cs.CoreV1().Nodes().List(ctx, o)
		}, func(string) cache.SharedIndexInformer { return coreinformers.NewNodeInformer(cs, 0, noIndex) }),
		k("pods", false, func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return cs.CoreV1().Pods(ns).List(ctx, o)
		}, func(ns string) cache.SharedIndexInformer { return coreinformers.NewPodInformer(cs, ns, 0, noIndex) }),
		k("deployments.apps", false, func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return cs.AppsV1().Deployments(ns).List(ctx, o)
		}, func(ns string) cache.SharedIndexInformer {
			return appsinformers.NewDeploymentInformer(cs, ns, 0, noIndex)
		}),
		k("statefulsets.apps", false, func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return cs.AppsV1().StatefulSets(ns).List(ctx, o)
		}, func(ns string) cache.SharedIndexInformer {
			return appsinformers.NewStatefulSetInformer(cs, ns, 0, noIndex)
		}),
		k("daemonsets.apps", false, func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return cs.AppsV1().DaemonSets(ns).List(ctx, o)
		}, func(ns string) cache.SharedIndexInformer {
			return appsinformers.NewDaemonSetInformer(cs, ns, 0, noIndex)
		}),
		k("replicasets.apps", false, func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return cs.AppsV1().ReplicaSets(ns).List(ctx, o)
		}, func(ns string) cache.SharedIndexInformer {
			return appsinformers.NewReplicaSetInformer(cs, ns, 0, noIndex)
		}),
		k("jobs.batch", false, func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return cs.BatchV1().Jobs(ns).List(ctx, o)
		}, func(ns string) cache.SharedIndexInformer { return batchinformers.NewJobInformer(cs, ns, 0, noIndex) }),
		k("cronjobs.batch", false, func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return cs.BatchV1().CronJobs(ns).List(ctx, o)
		}, func(ns string) cache.SharedIndexInformer {
			return batchinformers.NewCronJobInformer(cs, ns, 0, noIndex)
		}),
		k("replicationcontrollers", false, func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return cs.CoreV1().ReplicationControllers(ns).List(ctx, o)
		}, func(ns string) cache.SharedIndexInformer {
			return coreinformers.NewReplicationControllerInformer(cs, ns, 0, noIndex)
		}),
		k("services", false, func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return cs.CoreV1().Services(ns).List(ctx, o)
		}, func(ns string) cache.SharedIndexInformer { return coreinformers.NewServiceInformer(cs, ns, 0, noIndex) }),
		k("endpointslices.discovery.k8s.io", false, func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return cs.DiscoveryV1().EndpointSlices(ns).List(ctx, o)
		}, func(ns string) cache.SharedIndexInformer {
			return discoveryinformers.NewEndpointSliceInformer(cs, ns, 0, noIndex)
		}),
		k("ingresses.networking.k8s.io", false, func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return cs.NetworkingV1().Ingresses(ns).List(ctx, o)
		}, func(ns string) cache.SharedIndexInformer {
			return networkinginformers.NewIngressInformer(cs, ns, 0, noIndex)
		}),
		k("networkpolicies.networking.k8s.io", false, func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return cs.NetworkingV1().NetworkPolicies(ns).List(ctx, o)
		}, func(ns string) cache.SharedIndexInformer {
			return networkinginformers.NewNetworkPolicyInformer(cs, ns, 0, noIndex)
		}),
		k("serviceaccounts", false, func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return cs.CoreV1().ServiceAccounts(ns).List(ctx, o)
		}, func(ns string) cache.SharedIndexInformer {
			return coreinformers.NewServiceAccountInformer(cs, ns, 0, noIndex)
		}),
		k("roles.rbac.authorization.k8s.io", false, func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return cs.RbacV1().Roles(ns).List(ctx, o)
		}, func(ns string) cache.SharedIndexInformer { return rbacinformers.NewRoleInformer(cs, ns, 0, noIndex) }),
		k("rolebindings.rbac.authorization.k8s.io", false, func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return cs.RbacV1().RoleBindings(ns).List(ctx, o)
		}, func(ns string) cache.SharedIndexInformer {
			return rbacinformers.NewRoleBindingInformer(cs, ns, 0, noIndex)
		}),
		// Cluster-wide RBAC is read even for a namespaced scan: RoleBindings refer to ClusterRoles,
		// and ClusterRoleBindings grant in every namespace.
		k("clusterroles.rbac.authorization.k8s.io", true, func(ctx context.Context, _ string, o metav1.ListOptions) (runtime.Object, error) {
			return cs.RbacV1().ClusterRoles().List(ctx, o)
		}, func(string) cache.SharedIndexInformer { return rbacinformers.NewClusterRoleInformer(cs, 0, noIndex) }),
		k("clusterrolebindings.rbac.authorization.k8s.io", true, func(ctx context.Context, _ string, o metav1.ListOptions) (runtime.Object, error) {
			return cs.RbacV1().ClusterRoleBindings().List(ctx, o)
		}, func(string) cache.SharedIndexInformer {
			return rbacinformers.NewClusterRoleBindingInformer(cs, 0, noIndex)
		}),
	}
}

// metadataKinds read Secrets and ConfigMaps through the metadata-only API: names, labels and
// annotations, never the values, whether listed once or watched.
func metadataKinds(m metadata.Interface) []kind {
	meta := func(resource, kindName string, typed func(metav1.ObjectMeta) runtime.Object) kind {
		gvr := schema.GroupVersionResource{Version: "v1", Resource: resource}
		return kind{resource: resource,
			list: func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
				return m.Resource(gvr).Namespace(ns).List(ctx, o)
			},
			informer: func(ns string) cache.SharedIndexInformer {
				return metadatainformer.NewFilteredMetadataInformer(m, gvr, ns, 0, noIndex, nil).Informer()
			},
			fromMetadata: func(pm *metav1.PartialObjectMetadata) runtime.Object { return typed(pm.ObjectMeta) },
		}
	}
	return []kind{
		meta("secrets", "Secret", func(om metav1.ObjectMeta) runtime.Object {
			return &corev1.Secret{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}, ObjectMeta: om}
		}),
		meta("configmaps", "ConfigMap", func(om metav1.ObjectMeta) runtime.Object {
			return &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: om}
		}),
	}
}

// customKinds are the custom resources Redoubt recognises, when the cluster serves them:
// AdminNetworkPolicies and the CNI-specific network policies. A kind installed after discovery
// ran is not read until the next Load (or the next start of a Watch).
func customKinds(disc discovery.DiscoveryInterface, dyn dynamic.Interface) []kind {
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
	var out []kind
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
		out = append(out, kind{resource: fmt.Sprintf("%s.%s", gvr.Resource, gvr.Group), clusterScoped: w.clusterScoped,
			list: func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
				if ns == "" {
					return dyn.Resource(gvr).List(ctx, o)
				}
				return dyn.Resource(gvr).Namespace(ns).List(ctx, o)
			},
			informer: func(ns string) cache.SharedIndexInformer {
				return dynamicinformer.NewFilteredDynamicInformer(dyn, gvr, ns, time.Duration(0), noIndex, nil).Informer()
			}})
	}
	return out
}
