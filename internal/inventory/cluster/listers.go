package cluster

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
)

// typedListers lists the built-in kinds the snapshot holds. The type of each list comes back
// without apiVersion/kind on its items; setKinds restores them for the Builder.
func typedListers(cs kubernetes.Interface) []lister {
	type listFn = func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error)
	l := func(resource string, clusterScoped bool, f listFn) lister {
		return lister{resource: resource, clusterScoped: clusterScoped, list: f}
	}
	return []lister{
		l("namespaces", true, func(ctx context.Context, _ string, o metav1.ListOptions) (runtime.Object, error) {
			return cs.CoreV1().Namespaces().List(ctx, o)
		}),
		l("nodes", true, func(ctx context.Context, _ string, o metav1.ListOptions) (runtime.Object, error) {
			return cs.CoreV1().Nodes().List(ctx, o)
		}),
		l("pods", false, func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return cs.CoreV1().Pods(ns).List(ctx, o)
		}),
		l("deployments.apps", false, func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return cs.AppsV1().Deployments(ns).List(ctx, o)
		}),
		l("statefulsets.apps", false, func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return cs.AppsV1().StatefulSets(ns).List(ctx, o)
		}),
		l("daemonsets.apps", false, func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return cs.AppsV1().DaemonSets(ns).List(ctx, o)
		}),
		l("replicasets.apps", false, func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return cs.AppsV1().ReplicaSets(ns).List(ctx, o)
		}),
		l("jobs.batch", false, func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return cs.BatchV1().Jobs(ns).List(ctx, o)
		}),
		l("cronjobs.batch", false, func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return cs.BatchV1().CronJobs(ns).List(ctx, o)
		}),
		l("replicationcontrollers", false, func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return cs.CoreV1().ReplicationControllers(ns).List(ctx, o)
		}),
		l("services", false, func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return cs.CoreV1().Services(ns).List(ctx, o)
		}),
		l("endpointslices.discovery.k8s.io", false, func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return cs.DiscoveryV1().EndpointSlices(ns).List(ctx, o)
		}),
		l("ingresses.networking.k8s.io", false, func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return cs.NetworkingV1().Ingresses(ns).List(ctx, o)
		}),
		l("networkpolicies.networking.k8s.io", false, func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return cs.NetworkingV1().NetworkPolicies(ns).List(ctx, o)
		}),
		l("serviceaccounts", false, func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return cs.CoreV1().ServiceAccounts(ns).List(ctx, o)
		}),
		l("roles.rbac.authorization.k8s.io", false, func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return cs.RbacV1().Roles(ns).List(ctx, o)
		}),
		l("rolebindings.rbac.authorization.k8s.io", false, func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return cs.RbacV1().RoleBindings(ns).List(ctx, o)
		}),
		// Cluster-wide RBAC is read even for a namespaced scan: RoleBindings refer to ClusterRoles,
		// and ClusterRoleBindings grant in every namespace.
		l("clusterroles.rbac.authorization.k8s.io", true, func(ctx context.Context, _ string, o metav1.ListOptions) (runtime.Object, error) {
			return cs.RbacV1().ClusterRoles().List(ctx, o)
		}),
		l("clusterrolebindings.rbac.authorization.k8s.io", true, func(ctx context.Context, _ string, o metav1.ListOptions) (runtime.Object, error) {
			return cs.RbacV1().ClusterRoleBindings().List(ctx, o)
		}),
	}
}

// metadataListers read Secrets and ConfigMaps through the metadata-only API: names, labels and
// annotations, never the values.
func metadataListers(m metadata.Interface) []lister {
	secrets := schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	configMaps := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	meta := func(gvr schema.GroupVersionResource, kind string) lister {
		return lister{resource: gvr.Resource, list: func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
			list, err := m.Resource(gvr).Namespace(ns).List(ctx, o)
			if err != nil {
				return nil, err
			}
			out := &corev1.List{ListMeta: list.ListMeta}
			for i := range list.Items {
				pm := &list.Items[i]
				var obj runtime.Object
				switch kind {
				case "Secret":
					obj = &corev1.Secret{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: kind}, ObjectMeta: pm.ObjectMeta}
				default:
					obj = &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: kind}, ObjectMeta: pm.ObjectMeta}
				}
				out.Items = append(out.Items, runtime.RawExtension{Object: obj})
			}
			return out, nil
		}}
	}
	return []lister{meta(secrets, "Secret"), meta(configMaps, "ConfigMap")}
}
