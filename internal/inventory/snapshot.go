// Package inventory holds the Snapshot: everything known about one cluster, or one set of
// manifests, at one moment. Loaders (package manifest for files, Helm charts and Kustomize;
// package cluster for a live API server) fill it through a Builder, so that the same objects give
// the same snapshot whichever way they were read. Analyzers only read it.
package inventory

import (
	"fmt"
	"io/fs"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	anpv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"

	"redoubt.dev/redoubt/internal/image"
)

// Origin says where an object came from: a file and line for manifests (Rendered names the Helm
// chart or Kustomize directory that produced it), the cluster and UID for live objects.
type Origin struct {
	File     string `json:"file,omitempty"`
	Line     int    `json:"line,omitempty"`
	Rendered string `json:"rendered,omitempty"`
	Cluster  string `json:"cluster,omitempty"`
	UID      string `json:"uid,omitempty"`
}

// String renders file:line for manifests and the UID for live objects.
func (o Origin) String() string {
	switch {
	case o.File != "" && o.Line > 0:
		return fmt.Sprintf("%s:%d", o.File, o.Line)
	case o.File != "":
		return o.File
	case o.UID != "":
		return "uid " + o.UID
	}
	return ""
}

// SourceKind says what a snapshot was read from.
type SourceKind string

// The kinds of source.
const (
	SourceManifests SourceKind = "manifests"
	SourceCluster   SourceKind = "cluster"
	// SourceNode is a node read from the inside: processes, static pod manifests and
	// configuration files (redoubt node audit).
	SourceNode SourceKind = "node"
)

// Source describes what the snapshot was read from.
type Source struct {
	Kind SourceKind `json:"kind"`
	// Paths are the files and directories given, for manifests.
	Paths []string `json:"paths,omitempty"`
	// Context, Cluster and Server identify a live cluster; Namespace limits what was read.
	Context   string `json:"context,omitempty"`
	Cluster   string `json:"cluster,omitempty"`
	Server    string `json:"server,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	// ServerVersion is the API server's gitVersion, for live clusters.
	ServerVersion string `json:"serverVersion,omitempty"`
	// Node is the host name of the node read, for a node source.
	Node string `json:"node,omitempty"`
}

// Problem is an input error: a file, document or object that could not be read. Everything else
// is still loaded; the CLI reports problems and exits 2.
type Problem struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Object  string `json:"object,omitempty"`
	Message string `json:"message"`
}

// Error renders the problem as file:line: object: message.
func (p Problem) Error() string {
	s := p.File
	if p.Line > 0 {
		s = fmt.Sprintf("%s:%d", s, p.Line)
	}
	if p.Object != "" {
		if s != "" {
			s += ": "
		}
		s += p.Object
	}
	if s != "" {
		s += ": "
	}
	return s + p.Message
}

// Snapshot is everything known about one cluster or one set of manifests. Slices are ordered by
// namespace, kind and name, so output never depends on the order objects were read in.
type Snapshot struct {
	Source Source

	Namespaces      []*Namespace
	Workloads       []*Workload
	Pods            []*Pod
	Services        []*Service
	EndpointSlices  []*EndpointSlice
	Ingresses       []*Ingress
	NetworkPolicies []*NetworkPolicy
	// AdminNetworkPolicies and BaselineAdminNetworkPolicies are the cluster-scoped
	// policy.networking.k8s.io/v1alpha1 policies.
	AdminNetworkPolicies         []*AdminNetworkPolicy
	BaselineAdminNetworkPolicies []*BaselineAdminNetworkPolicy
	ServiceAccounts              []*ServiceAccount
	Roles                        []*Role
	ClusterRoles                 []*ClusterRole
	RoleBindings                 []*RoleBinding
	ClusterRoleBindings          []*ClusterRoleBinding
	Nodes                        []*Node
	Secrets                      []*Secret
	ConfigMaps                   []*ConfigMap
	// Others holds objects of kinds Redoubt does not model (custom resources among them), so that
	// analyzers can at least recognise them (a CiliumNetworkPolicy, say).
	Others []*Unstructured
	Images []*Image

	// Components are control-plane and node components whose configuration was read from
	// outside the API: a process's command line on a node, a kubelet's configuration file or its
	// configz endpoint. Static pods are not Components: they are Pods.
	Components []*Component
	// HostFiles are what a node source learnt about files that components' flags name (never
	// their secrets).
	HostFiles []*HostFile
	// NodeFiles are the modes and owners of the node's sensitive files (manifests, kubeconfigs,
	// PKI, etcd data, kubelet files), as a node source found them.
	NodeFiles []*NodeFile
	// AnonymousProbe records unauthenticated requests to a live cluster's API server.
	AnonymousProbe *AnonymousProbe

	// Problems are the input errors met while loading.
	Problems []Problem
	// Duplicates are objects given more than once in one input (manifests only): the last copy
	// read is in the snapshot, as kubectl apply would leave it.
	Duplicates []Duplicate

	// DefaultNamespace is where namespaced objects that name no namespace were put ("default"
	// unless the user chose another), and Defaulted counts them: manifests only.
	DefaultNamespace string
	Defaulted        int

	nsByName       map[string]*Namespace
	saByName       map[string]*ServiceAccount
	workloadByName map[string]*Workload
}

// Duplicate is one copy of an object that a later copy of the same group, kind, namespace and
// name replaced.
type Duplicate struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
	// Origin is where the replaced copy was read; Kept is where the copy in the snapshot was.
	Origin Origin `json:"origin"`
	Kept   Origin `json:"kept"`
}

// Namespace is a namespace, real or implied by objects that name it.
type Namespace struct {
	*corev1.Namespace
	Origin Origin
	// Implied is true when no Namespace object was read, only objects in it.
	Implied bool
}

// Workload is the unit users reason about: a Deployment, StatefulSet, DaemonSet, Job, CronJob,
// ReplicaSet or bare Pod, with the pods that roll up to it.
type Workload struct {
	Kind        string
	Namespace   string
	Name        string
	UID         string
	Labels      map[string]string
	Annotations map[string]string
	Origin      Origin
	// Selector selects the workload's pods; for a bare Pod it matches the pod's own labels.
	Selector *metav1.LabelSelector
	// Template is the pod template, with the API server's defaults that matter applied.
	Template corev1.PodTemplateSpec
	// Replicas is the desired replica count where the kind has one.
	Replicas *int32
	// Object is the object as read.
	Object runtime.Object
	// Pods are the live pods that roll up to this workload, sorted by name.
	Pods []*Pod
	// Nodes are the nodes its pods run on, sorted.
	Nodes []string
	// Services and Ingresses that expose the workload, filled by the Builder.
	Services  []*Service
	Ingresses []*Ingress
	// ContainerLines maps a container name to the manifest line that declares it, and
	// EnvLineKey(container, variable) to the line of that container's env entry.
	ContainerLines map[string]int
}

// Key is namespace/Kind/name.
func (w *Workload) Key() string { return w.Namespace + "/" + w.Kind + "/" + w.Name }

// ServiceAccountName is the service account the pods run as ("default" when unset).
func (w *Workload) ServiceAccountName() string {
	if sa := w.Template.Spec.ServiceAccountName; sa != "" {
		return sa
	}
	return "default"
}

// EnvLineKey is the ContainerLines key of a container's env entry. Container names are DNS
// labels and hold no "/".
func EnvLineKey(container, variable string) string { return container + "/env/" + variable }

// EnvLine returns the line of the named container's env entry, or the container's line.
func (w *Workload) EnvLine(container, variable string) int {
	if l, ok := w.ContainerLines[EnvLineKey(container, variable)]; ok {
		return l
	}
	return w.ContainerLine(container)
}

// ContainerLine returns the line declaring the named container, or the workload's own line.
func (w *Workload) ContainerLine(name string) int {
	if l, ok := w.ContainerLines[name]; ok {
		return l
	}
	return w.Origin.Line
}

// Pod is a live pod and the workload it rolls up to.
type Pod struct {
	*corev1.Pod
	Origin   Origin
	Workload *Workload
}

// Service is a Service and the workloads it selects.
type Service struct {
	*corev1.Service
	Origin    Origin
	Workloads []*Workload
}

// EndpointSlice records which addresses back a Service in a live cluster.
type EndpointSlice struct {
	*discoveryv1.EndpointSlice
	Origin Origin
}

// Ingress is an Ingress and the Services its rules and default backend name.
type Ingress struct {
	*networkingv1.Ingress
	Origin   Origin
	Services []*Service
}

// NetworkPolicy is a networking.k8s.io/v1 NetworkPolicy.
type NetworkPolicy struct {
	*networkingv1.NetworkPolicy
	Origin Origin
}

// AdminNetworkPolicy is a policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy.
type AdminNetworkPolicy struct {
	*anpv1alpha1.AdminNetworkPolicy
	Origin Origin
}

// BaselineAdminNetworkPolicy is a policy.networking.k8s.io/v1alpha1 BaselineAdminNetworkPolicy.
type BaselineAdminNetworkPolicy struct {
	*anpv1alpha1.BaselineAdminNetworkPolicy
	Origin Origin
}

// ServiceAccount is a ServiceAccount.
type ServiceAccount struct {
	*corev1.ServiceAccount
	Origin Origin
}

// Role is a namespaced RBAC Role.
type Role struct {
	*rbacv1.Role
	Origin Origin
}

// ClusterRole is an RBAC ClusterRole.
type ClusterRole struct {
	*rbacv1.ClusterRole
	Origin Origin
}

// RoleBinding is a namespaced RBAC RoleBinding.
type RoleBinding struct {
	*rbacv1.RoleBinding
	Origin Origin
}

// ClusterRoleBinding is an RBAC ClusterRoleBinding.
type ClusterRoleBinding struct {
	*rbacv1.ClusterRoleBinding
	Origin Origin
}

// Node is a cluster node.
type Node struct {
	*corev1.Node
	Origin Origin
}

// Secret is a Secret's metadata: its type and the names of its keys, never the values.
type Secret struct {
	metav1.ObjectMeta
	Type   corev1.SecretType
	Keys   []string
	Origin Origin
}

// ConfigMap is a ConfigMap's metadata and key names.
type ConfigMap struct {
	metav1.ObjectMeta
	Keys   []string
	Origin Origin
}

// Unstructured is an object of a kind Redoubt does not model.
type Unstructured struct {
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
	Labels     map[string]string
	Origin     Origin
	Object     map[string]any
}

// Image is one image reference as workloads spell it, and who runs it.
type Image struct {
	// Ref is the reference as written in the pod spec.
	Ref string
	// Digest is the manifest digest: from the reference itself, or from a live pod's status.
	Digest string
	Uses   []ImageUse
	// Scan is what scanning the image found (packages by layer, components, vulnerabilities),
	// when images were scanned; ScanError says why an image that should have been scanned was
	// not.
	Scan      *image.Report
	ScanError string
}

// ImageUse is one container of one workload that runs an image.
type ImageUse struct {
	Workload  *Workload
	Container string
	// Init is true for init and ephemeral containers.
	Init bool
}

// Namespace returns the namespace with this name (nil when unknown).
func (s *Snapshot) Namespace(name string) *Namespace { return s.nsByName[name] }

// ServiceAccount returns the service account namespace/name, or nil.
func (s *Snapshot) ServiceAccount(namespace, name string) *ServiceAccount {
	return s.saByName[namespace+"/"+name]
}

// Workload returns the workload namespace/Kind/name, or nil.
func (s *Snapshot) Workload(namespace, kind, name string) *Workload {
	return s.workloadByName[namespace+"/"+kind+"/"+name]
}

// WorkloadsIn returns the workloads in one namespace.
func (s *Snapshot) WorkloadsIn(namespace string) []*Workload {
	var out []*Workload
	for _, w := range s.Workloads {
		if w.Namespace == namespace {
			out = append(out, w)
		}
	}
	return out
}

// NetworkPoliciesIn returns the NetworkPolicies in one namespace.
func (s *Snapshot) NetworkPoliciesIn(namespace string) []*NetworkPolicy {
	var out []*NetworkPolicy
	for _, p := range s.NetworkPolicies {
		if p.Namespace == namespace {
			out = append(out, p)
		}
	}
	return out
}

// Component is the configuration of a control-plane or node component read from outside the
// API.
type Component struct {
	// Name is kube-apiserver, kube-controller-manager, kube-scheduler, etcd or kubelet.
	Name string
	// Node is the node the component runs on, when known.
	Node string
	// Origin is the configuration file read (a kubelet's config.yaml), or empty for a process.
	Origin Origin
	// PID is the process read from /proc, or 0.
	PID int
	// Args is the command line after the program name; nil when no process was read.
	Args []string
	// Env holds the environment variables that configure the component (etcd's ETCD_*), never
	// any other.
	Env map[string]string
	// Config is a configuration document as read (a KubeletConfiguration, YAML or JSON), and
	// ConfigSource says from where: "file" or "configz".
	Config       []byte
	ConfigSource string
	// Error says why the configuration could not be read, when it could not.
	Error string
}

// HostFile is what a node source learnt about one file a component's flags name.
type HostFile struct {
	Node string
	Path string
	// Read is true when the file was read; Error says why not otherwise.
	Read  bool
	Error string
	// Encryption lists, for an EncryptionConfiguration, each resources entry with its providers
	// in order (the first one encrypts new writes). Keys are never kept.
	Encryption []EncryptionResources
	// AuditPolicy holds, for an audit Policy, its rules in order (the first that matches a
	// request decides its level).
	AuditPolicy []AuditPolicyRule
}

// AuditPolicyRule is one rule of an audit Policy (audit.k8s.io/v1).
type AuditPolicyRule struct {
	Level           string
	Users           []string
	UserGroups      []string
	Verbs           []string
	Resources       []AuditGroupResources
	Namespaces      []string
	NonResourceURLs []string
}

// AuditGroupResources selects resources of one API group in an audit rule.
type AuditGroupResources struct {
	Group         string
	Resources     []string
	ResourceNames []string
}

// NodeFile is the mode and owner of one sensitive file or directory on a node.
type NodeFile struct {
	Node string
	// Path is the file's path on the node (without the root a container sees it under).
	Path string
	// Role says what the file is, one of the NodeFile* constants.
	Role string
	Dir  bool
	Mode fs.FileMode
	UID  uint32
	GID  uint32
	// Owner is the owner's user name from the node's /etc/passwd, when found.
	Owner string
}

// The roles of node files.
const (
	NodeFileManifest          = "static pod manifest"
	NodeFileCNI               = "CNI configuration"
	NodeFileEtcdData          = "etcd data directory"
	NodeFileKubeconfig        = "control-plane kubeconfig"
	NodeFilePKIDir            = "PKI directory"
	NodeFilePKICert           = "PKI certificate"
	NodeFilePKIKey            = "PKI key"
	NodeFileKubeletService    = "kubelet service file"
	NodeFileKubeletKubeconfig = "kubelet kubeconfig"
	NodeFileKubeletClientCA   = "kubelet client CA"
	NodeFileKubeletConfig     = "kubelet configuration file"
)

// EncryptionResources is one entry of an EncryptionConfiguration.
type EncryptionResources struct {
	Resources []string
	Providers []string
}

// AnonymousProbe is the result of unauthenticated requests to an API server.
type AnonymousProbe struct {
	Server  string
	Results []ProbeResult
}

// ProbeResult is one unauthenticated request: the HTTP status, or the error.
type ProbeResult struct {
	Path   string
	Status int
	Error  string
}

// Empty reports whether the snapshot holds no object at all, input problems aside: what an
// empty directory, or a mistyped path, gives. Namespaces implied by objects count as objects
// only through those objects.
func (s *Snapshot) Empty() bool {
	n := len(s.Workloads) + len(s.Pods) + len(s.Services) + len(s.EndpointSlices) + len(s.Ingresses) +
		len(s.NetworkPolicies) + len(s.AdminNetworkPolicies) + len(s.BaselineAdminNetworkPolicies) +
		len(s.ServiceAccounts) + len(s.Roles) + len(s.ClusterRoles) + len(s.RoleBindings) +
		len(s.ClusterRoleBindings) + len(s.Nodes) + len(s.Secrets) + len(s.ConfigMaps) + len(s.Others) +
		len(s.Components) + len(s.HostFiles)
	for _, ns := range s.Namespaces {
		if !ns.Implied {
			n++
		}
	}
	return n == 0
}
