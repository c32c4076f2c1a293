package rbac

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"

	rbacv1 "k8s.io/api/rbac/v1"
)

// BootstrapLabel marks the roles and bindings the API server creates and keeps up to date.
const BootstrapLabel = "kubernetes.io/bootstrapping"

//go:embed defaults.json
var defaultsJSON []byte

// defaults is the default RBAC policy of a Kubernetes release: every object the API server
// creates with label kubernetes.io/bootstrapping=rbac-defaults.
type defaults struct {
	KubernetesVersion   string                       `json:"kubernetesVersion"`
	Source              string                       `json:"source"`
	ClusterRoles        []*rbacv1.ClusterRole        `json:"clusterRoles"`
	ClusterRoleBindings []*rbacv1.ClusterRoleBinding `json:"clusterRoleBindings"`
	Roles               []*rbacv1.Role               `json:"roles"`
	RoleBindings        []*rbacv1.RoleBinding        `json:"roleBindings"`

	clusterRoles        map[string]*rbacv1.ClusterRole
	clusterRoleBindings map[string]*rbacv1.ClusterRoleBinding
	roles               map[string]*rbacv1.Role
	roleBindings        map[string]*rbacv1.RoleBinding
}

var defaultPolicy = sync.OnceValue(func() *defaults {
	var d defaults
	if err := json.Unmarshal(defaultsJSON, &d); err != nil {
		panic(fmt.Sprintf("rbac: embedded defaults.json: %v", err))
	}
	d.clusterRoles = map[string]*rbacv1.ClusterRole{}
	for _, x := range d.ClusterRoles {
		d.clusterRoles[x.Name] = x
	}
	d.clusterRoleBindings = map[string]*rbacv1.ClusterRoleBinding{}
	for _, x := range d.ClusterRoleBindings {
		d.clusterRoleBindings[x.Name] = x
	}
	d.roles = map[string]*rbacv1.Role{}
	for _, x := range d.Roles {
		d.roles[x.Namespace+"/"+x.Name] = x
	}
	d.roleBindings = map[string]*rbacv1.RoleBinding{}
	for _, x := range d.RoleBindings {
		d.roleBindings[x.Namespace+"/"+x.Name] = x
	}
	return &d
})

// DefaultsVersion is the Kubernetes release whose default policy is embedded.
func DefaultsVersion() string { return defaultPolicy().KubernetesVersion }
