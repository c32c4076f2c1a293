package manifest

import (
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	anpv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
)

// modeled reports whether the Builder keeps objects of this type as typed objects.
func modeled(obj runtime.Object) bool {
	switch obj.(type) {
	case *appsv1.Deployment, *appsv1.StatefulSet, *appsv1.DaemonSet, *appsv1.ReplicaSet,
		*batchv1.Job, *batchv1.CronJob, *corev1.Pod, *corev1.ReplicationController,
		*corev1.Namespace, *corev1.Service, *corev1.ServiceAccount, *corev1.Node,
		*corev1.Secret, *corev1.ConfigMap, *discoveryv1.EndpointSlice,
		*networkingv1.Ingress, *networkingv1.NetworkPolicy,
		*rbacv1.Role, *rbacv1.ClusterRole, *rbacv1.RoleBinding, *rbacv1.ClusterRoleBinding,
		*anpv1alpha1.AdminNetworkPolicy, *anpv1alpha1.BaselineAdminNetworkPolicy:
		return true
	}
	return false
}
