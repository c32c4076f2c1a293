package inventory

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	anpv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
)

// Builder assembles a Snapshot from objects as a loader reads them. It is the one place where
// pods roll up to workloads, defaults are applied and exposure is indexed, so manifests and live
// clusters give the same snapshot for the same objects. A Builder is not safe for concurrent use.
type Builder struct {
	snap             Snapshot
	defaultNamespace string
	replicaSets      []*Workload
	jobs             []*Workload
	pods             []*Pod
	podLines         map[*Pod]map[string]int
}

// NewBuilder starts a snapshot of the given source. Namespaced objects that name no namespace
// are put in defaultNamespace ("default" when empty), as kubectl would.
func NewBuilder(src Source, defaultNamespace string) *Builder {
	if defaultNamespace == "" {
		defaultNamespace = metav1.NamespaceDefault
	}
	return &Builder{snap: Snapshot{Source: src, DefaultNamespace: defaultNamespace}, defaultNamespace: defaultNamespace}
}

// DefaultNamespace is where namespaced objects that name no namespace are put.
func (b *Builder) DefaultNamespace() string { return b.defaultNamespace }

// Problem records an input error.
func (b *Builder) Problem(p Problem) { b.snap.Problems = append(b.snap.Problems, p) }

// Duplicate records that an object was given more than once and which copy was kept.
func (b *Builder) Duplicate(d Duplicate) { b.snap.Duplicates = append(b.snap.Duplicates, d) }

// AddUnstructured records an object of a kind Redoubt does not model.
func (b *Builder) AddUnstructured(u *Unstructured) { b.snap.Others = append(b.snap.Others, u) }

// Add records one typed object. containerLines maps container names to the manifest lines that
// declare them (nil for live objects). Kinds Redoubt does not use are ignored.
func (b *Builder) Add(obj runtime.Object, origin Origin, containerLines map[string]int) {
	if m, ok := obj.(metav1.Object); ok && m.GetNamespace() == "" && Namespaced(obj) {
		m.SetNamespace(b.defaultNamespace)
		b.snap.Defaulted++
	}
	if m, ok := obj.(metav1.Object); ok && origin.UID == "" && origin.File == "" {
		origin.UID = string(m.GetUID())
	}
	switch o := obj.(type) {
	case *appsv1.Deployment:
		replicas := int32(1)
		if o.Spec.Replicas != nil {
			replicas = *o.Spec.Replicas
		}
		b.addWorkload("Deployment", &o.ObjectMeta, o.Spec.Selector, o.Spec.Template, &replicas, o, origin, containerLines)
	case *appsv1.StatefulSet:
		replicas := int32(1)
		if o.Spec.Replicas != nil {
			replicas = *o.Spec.Replicas
		}
		b.addWorkload("StatefulSet", &o.ObjectMeta, o.Spec.Selector, o.Spec.Template, &replicas, o, origin, containerLines)
	case *appsv1.DaemonSet:
		b.addWorkload("DaemonSet", &o.ObjectMeta, o.Spec.Selector, o.Spec.Template, nil, o, origin, containerLines)
	case *appsv1.ReplicaSet:
		w := newWorkload("ReplicaSet", &o.ObjectMeta, o.Spec.Selector, o.Spec.Template, o.Spec.Replicas, o, origin, containerLines)
		b.replicaSets = append(b.replicaSets, w)
	case *corev1.ReplicationController:
		var sel *metav1.LabelSelector
		if o.Spec.Selector != nil {
			sel = &metav1.LabelSelector{MatchLabels: o.Spec.Selector}
		}
		var tmpl corev1.PodTemplateSpec
		if o.Spec.Template != nil {
			tmpl = *o.Spec.Template
		}
		b.addWorkload("ReplicationController", &o.ObjectMeta, sel, tmpl, o.Spec.Replicas, o, origin, containerLines)
	case *batchv1.Job:
		w := newWorkload("Job", &o.ObjectMeta, o.Spec.Selector, o.Spec.Template, o.Spec.Parallelism, o, origin, containerLines)
		b.jobs = append(b.jobs, w)
	case *batchv1.CronJob:
		tmpl := o.Spec.JobTemplate.Spec.Template
		sel := &metav1.LabelSelector{MatchLabels: tmpl.Labels}
		b.addWorkload("CronJob", &o.ObjectMeta, sel, tmpl, nil, o, origin, containerLines)
	case *corev1.Pod:
		p := &Pod{Pod: o, Origin: origin}
		b.pods = append(b.pods, p)
		if containerLines != nil {
			if b.podLines == nil {
				b.podLines = map[*Pod]map[string]int{}
			}
			b.podLines[p] = containerLines
		}
	case *corev1.Namespace:
		b.snap.Namespaces = append(b.snap.Namespaces, &Namespace{Namespace: o, Origin: origin})
	case *corev1.Service:
		defaultService(o)
		b.snap.Services = append(b.snap.Services, &Service{Service: o, Origin: origin})
	case *discoveryv1.EndpointSlice:
		b.snap.EndpointSlices = append(b.snap.EndpointSlices, &EndpointSlice{EndpointSlice: o, Origin: origin})
	case *networkingv1.Ingress:
		b.snap.Ingresses = append(b.snap.Ingresses, &Ingress{Ingress: o, Origin: origin})
	case *networkingv1.NetworkPolicy:
		defaultNetworkPolicy(o)
		b.snap.NetworkPolicies = append(b.snap.NetworkPolicies, &NetworkPolicy{NetworkPolicy: o, Origin: origin})
	case *anpv1alpha1.AdminNetworkPolicy:
		b.snap.AdminNetworkPolicies = append(b.snap.AdminNetworkPolicies, &AdminNetworkPolicy{AdminNetworkPolicy: o, Origin: origin})
	case *anpv1alpha1.BaselineAdminNetworkPolicy:
		b.snap.BaselineAdminNetworkPolicies = append(b.snap.BaselineAdminNetworkPolicies, &BaselineAdminNetworkPolicy{BaselineAdminNetworkPolicy: o, Origin: origin})
	case *corev1.ServiceAccount:
		b.snap.ServiceAccounts = append(b.snap.ServiceAccounts, &ServiceAccount{ServiceAccount: o, Origin: origin})
	case *rbacv1.Role:
		b.snap.Roles = append(b.snap.Roles, &Role{Role: o, Origin: origin})
	case *rbacv1.ClusterRole:
		b.snap.ClusterRoles = append(b.snap.ClusterRoles, &ClusterRole{ClusterRole: o, Origin: origin})
	case *rbacv1.RoleBinding:
		b.snap.RoleBindings = append(b.snap.RoleBindings, &RoleBinding{RoleBinding: o, Origin: origin})
	case *rbacv1.ClusterRoleBinding:
		b.snap.ClusterRoleBindings = append(b.snap.ClusterRoleBindings, &ClusterRoleBinding{ClusterRoleBinding: o, Origin: origin})
	case *corev1.Node:
		b.snap.Nodes = append(b.snap.Nodes, &Node{Node: o, Origin: origin})
	case *corev1.Secret:
		keys := make([]string, 0, len(o.Data)+len(o.StringData))
		for k := range o.Data {
			keys = append(keys, k)
		}
		for k := range o.StringData {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		keys = slices.Compact(keys)
		meta := *o.ObjectMeta.DeepCopy()
		// The last-applied annotation holds the whole object, values included.
		delete(meta.Annotations, corev1.LastAppliedConfigAnnotation)
		meta.ManagedFields = nil
		b.snap.Secrets = append(b.snap.Secrets, &Secret{ObjectMeta: meta, Type: o.Type, Keys: keys, Origin: origin})
	case *corev1.ConfigMap:
		keys := make([]string, 0, len(o.Data)+len(o.BinaryData))
		for k := range o.Data {
			keys = append(keys, k)
		}
		for k := range o.BinaryData {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		meta := *o.ObjectMeta.DeepCopy()
		meta.ManagedFields = nil
		b.snap.ConfigMaps = append(b.snap.ConfigMaps, &ConfigMap{ObjectMeta: meta, Keys: keys, Origin: origin})
	}
}

func newWorkload(kind string, meta *metav1.ObjectMeta, sel *metav1.LabelSelector, tmpl corev1.PodTemplateSpec,
	replicas *int32, obj runtime.Object, origin Origin, lines map[string]int) *Workload {
	tmpl = *tmpl.DeepCopy()
	defaultPodSpec(&tmpl.Spec)
	return &Workload{
		Kind: kind, Namespace: meta.Namespace, Name: meta.Name, UID: string(meta.UID),
		Labels: meta.Labels, Annotations: meta.Annotations, Origin: origin,
		Selector: sel, Template: tmpl, Replicas: replicas, Object: obj, ContainerLines: lines,
	}
}

func (b *Builder) addWorkload(kind string, meta *metav1.ObjectMeta, sel *metav1.LabelSelector, tmpl corev1.PodTemplateSpec,
	replicas *int32, obj runtime.Object, origin Origin, lines map[string]int) {
	b.snap.Workloads = append(b.snap.Workloads, newWorkload(kind, meta, sel, tmpl, replicas, obj, origin, lines))
}

// Snapshot finishes the snapshot: rolls pods up to their workloads, implies namespaces, indexes
// exposure and images, and sorts everything. The Builder must not be used afterwards.
func (b *Builder) Snapshot() *Snapshot {
	s := &b.snap
	s.workloadByName = map[string]*Workload{}
	for _, w := range s.Workloads {
		s.workloadByName[w.Key()] = w
	}
	// A ReplicaSet managed by a Deployment we know, and a Job managed by a CronJob we know, roll
	// up into it; otherwise they are workloads of their own.
	rsOwner := map[string]*Workload{}
	for _, rs := range b.replicaSets {
		if top := s.controller(rs.Namespace, rs.Object.(metav1.Object), "Deployment"); top != nil {
			rsOwner[rs.Namespace+"/"+rs.Name] = top
			continue
		}
		rsOwner[rs.Namespace+"/"+rs.Name] = rs
		s.Workloads = append(s.Workloads, rs)
		s.workloadByName[rs.Key()] = rs
	}
	jobOwner := map[string]*Workload{}
	for _, j := range b.jobs {
		if top := s.controller(j.Namespace, j.Object.(metav1.Object), "CronJob"); top != nil {
			jobOwner[j.Namespace+"/"+j.Name] = top
			continue
		}
		jobOwner[j.Namespace+"/"+j.Name] = j
		s.Workloads = append(s.Workloads, j)
		s.workloadByName[j.Key()] = j
	}
	for _, p := range b.pods {
		var owner *Workload
		if ref := metav1.GetControllerOf(p.Pod); ref != nil {
			key := p.Namespace + "/" + ref.Name
			switch ref.Kind {
			case "ReplicaSet":
				owner = rsOwner[key]
			case "Job":
				owner = jobOwner[key]
			default:
				owner = s.workloadByName[p.Namespace+"/"+ref.Kind+"/"+ref.Name]
			}
		}
		if owner == nil {
			sel := &metav1.LabelSelector{MatchLabels: p.Labels}
			owner = newWorkload("Pod", &p.ObjectMeta, sel, corev1.PodTemplateSpec{ObjectMeta: p.ObjectMeta, Spec: p.Spec},
				nil, p.Pod, p.Origin, b.podLines[p])
			s.Workloads = append(s.Workloads, owner)
			s.workloadByName[owner.Key()] = owner
		}
		p.Workload = owner
		owner.Pods = append(owner.Pods, p)
		s.Pods = append(s.Pods, p)
	}
	for _, w := range s.Workloads {
		slices.SortFunc(w.Pods, func(a, b *Pod) int { return strings.Compare(a.Name, b.Name) })
		for _, p := range w.Pods {
			if p.Spec.NodeName != "" {
				w.Nodes = append(w.Nodes, p.Spec.NodeName)
			}
		}
		slices.Sort(w.Nodes)
		w.Nodes = slices.Compact(w.Nodes)
	}
	b.implyNamespaces()
	b.sortAll()
	b.indexExposure()
	b.indexImages()
	s.nsByName = map[string]*Namespace{}
	for _, n := range s.Namespaces {
		s.nsByName[n.Name] = n
	}
	s.saByName = map[string]*ServiceAccount{}
	for _, sa := range s.ServiceAccounts {
		s.saByName[sa.Namespace+"/"+sa.Name] = sa
	}
	return s
}

// controller returns the workload of the given kind that controls obj, if the snapshot has it.
func (s *Snapshot) controller(namespace string, obj metav1.Object, kind string) *Workload {
	ref := metav1.GetControllerOfNoCopy(obj)
	if ref == nil || ref.Kind != kind {
		return nil
	}
	return s.workloadByName[namespace+"/"+kind+"/"+ref.Name]
}

func (b *Builder) implyNamespaces() {
	s := &b.snap
	have := map[string]bool{}
	for _, n := range s.Namespaces {
		have[n.Name] = true
	}
	imply := func(ns string) {
		if ns == "" || have[ns] {
			return
		}
		have[ns] = true
		s.Namespaces = append(s.Namespaces, &Namespace{
			Namespace: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns,
				Labels: map[string]string{corev1.LabelMetadataName: ns}}},
			Implied: true,
		})
	}
	for _, w := range s.Workloads {
		imply(w.Namespace)
	}
	for _, x := range s.Services {
		imply(x.Namespace)
	}
	for _, x := range s.NetworkPolicies {
		imply(x.Namespace)
	}
	for _, x := range s.ServiceAccounts {
		imply(x.Namespace)
	}
	for _, x := range s.Ingresses {
		imply(x.Namespace)
	}
	for _, n := range s.Namespaces {
		// The API server labels every namespace with its own name; manifests rarely spell it out.
		if n.Labels[corev1.LabelMetadataName] == "" {
			if n.Labels == nil {
				n.Labels = map[string]string{}
			}
			n.Labels[corev1.LabelMetadataName] = n.Name
		}
	}
}

func byMeta(ans, an, bns, bn string) int { return cmp.Or(cmp.Compare(ans, bns), cmp.Compare(an, bn)) }

func (b *Builder) sortAll() {
	s := &b.snap
	slices.SortFunc(s.Namespaces, func(a, b *Namespace) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(s.Workloads, func(a, b *Workload) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name))
	})
	slices.SortFunc(s.Pods, func(a, b *Pod) int { return byMeta(a.Namespace, a.Name, b.Namespace, b.Name) })
	slices.SortFunc(s.Services, func(a, b *Service) int { return byMeta(a.Namespace, a.Name, b.Namespace, b.Name) })
	slices.SortFunc(s.EndpointSlices, func(a, b *EndpointSlice) int { return byMeta(a.Namespace, a.Name, b.Namespace, b.Name) })
	slices.SortFunc(s.Ingresses, func(a, b *Ingress) int { return byMeta(a.Namespace, a.Name, b.Namespace, b.Name) })
	slices.SortFunc(s.NetworkPolicies, func(a, b *NetworkPolicy) int { return byMeta(a.Namespace, a.Name, b.Namespace, b.Name) })
	slices.SortFunc(s.AdminNetworkPolicies, func(a, b *AdminNetworkPolicy) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(s.BaselineAdminNetworkPolicies, func(a, b *BaselineAdminNetworkPolicy) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(s.ServiceAccounts, func(a, b *ServiceAccount) int { return byMeta(a.Namespace, a.Name, b.Namespace, b.Name) })
	slices.SortFunc(s.Roles, func(a, b *Role) int { return byMeta(a.Namespace, a.Name, b.Namespace, b.Name) })
	slices.SortFunc(s.ClusterRoles, func(a, b *ClusterRole) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(s.RoleBindings, func(a, b *RoleBinding) int { return byMeta(a.Namespace, a.Name, b.Namespace, b.Name) })
	slices.SortFunc(s.ClusterRoleBindings, func(a, b *ClusterRoleBinding) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(s.Nodes, func(a, b *Node) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(s.Secrets, func(a, b *Secret) int { return byMeta(a.Namespace, a.Name, b.Namespace, b.Name) })
	slices.SortFunc(s.ConfigMaps, func(a, b *ConfigMap) int { return byMeta(a.Namespace, a.Name, b.Namespace, b.Name) })
	slices.SortFunc(s.Others, func(a, b *Unstructured) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name))
	})
	slices.SortStableFunc(s.Problems, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line))
	})
}

// indexExposure links Services to the workloads they select and Ingresses to their Services.
func (b *Builder) indexExposure() {
	s := &b.snap
	byNS := map[string][]*Workload{}
	for _, w := range s.Workloads {
		byNS[w.Namespace] = append(byNS[w.Namespace], w)
	}
	svcByName := map[string]*Service{}
	for _, svc := range s.Services {
		svcByName[svc.Namespace+"/"+svc.Name] = svc
		if len(svc.Spec.Selector) == 0 {
			continue
		}
		sel := labels.SelectorFromValidatedSet(svc.Spec.Selector)
		for _, w := range byNS[svc.Namespace] {
			if sel.Matches(labels.Set(w.Template.Labels)) {
				svc.Workloads = append(svc.Workloads, w)
				w.Services = append(w.Services, svc)
			}
		}
	}
	for _, ing := range s.Ingresses {
		names := map[string]bool{}
		if d := ing.Spec.DefaultBackend; d != nil && d.Service != nil {
			names[d.Service.Name] = true
		}
		for _, r := range ing.Spec.Rules {
			if r.HTTP == nil {
				continue
			}
			for _, p := range r.HTTP.Paths {
				if p.Backend.Service != nil {
					names[p.Backend.Service.Name] = true
				}
			}
		}
		sorted := make([]string, 0, len(names))
		for n := range names {
			sorted = append(sorted, n)
		}
		slices.Sort(sorted)
		for _, n := range sorted {
			svc := svcByName[ing.Namespace+"/"+n]
			if svc == nil {
				continue
			}
			ing.Services = append(ing.Services, svc)
			for _, w := range svc.Workloads {
				if !slices.Contains(w.Ingresses, ing) {
					w.Ingresses = append(w.Ingresses, ing)
				}
			}
		}
	}
}

// indexImages lists every image reference the workloads run and who runs it.
func (b *Builder) indexImages() {
	s := &b.snap
	byRef := map[string]*Image{}
	add := func(w *Workload, c *corev1.Container, init bool, digests map[string]string) {
		if c.Image == "" {
			return
		}
		img := byRef[c.Image]
		if img == nil {
			img = &Image{Ref: c.Image, Digest: DigestOf(c.Image)}
			byRef[c.Image] = img
			s.Images = append(s.Images, img)
		}
		if img.Digest == "" {
			img.Digest = digests[c.Name]
		}
		img.Uses = append(img.Uses, ImageUse{Workload: w, Container: c.Name, Init: init})
	}
	for _, w := range s.Workloads {
		digests := runningDigests(w)
		spec := &w.Template.Spec
		for i := range spec.InitContainers {
			add(w, &spec.InitContainers[i], true, digests)
		}
		for i := range spec.Containers {
			add(w, &spec.Containers[i], false, digests)
		}
		for i := range spec.EphemeralContainers {
			c := corev1.Container(spec.EphemeralContainers[i].EphemeralContainerCommon)
			add(w, &c, true, digests)
		}
	}
	slices.SortFunc(s.Images, func(a, b *Image) int { return cmp.Compare(a.Ref, b.Ref) })
}

// runningDigests maps container names to the image digests the workload's pods report running.
func runningDigests(w *Workload) map[string]string {
	out := map[string]string{}
	for _, p := range w.Pods {
		for _, st := range slices.Concat(p.Status.InitContainerStatuses, p.Status.ContainerStatuses) {
			if d := DigestOf(st.ImageID); d != "" {
				out[st.Name] = d
			}
		}
	}
	return out
}

// DigestOf returns the sha256 digest in an image reference or a container status imageID, or "".
func DigestOf(ref string) string {
	i := strings.LastIndex(ref, "@sha256:")
	if i < 0 {
		if strings.HasPrefix(ref, "sha256:") && len(ref) == 71 {
			return ref
		}
		return ""
	}
	d := ref[i+1:]
	if len(d) != 71 {
		return ""
	}
	return d
}

// Namespaced reports whether objects of obj's kind live in a namespace.
func Namespaced(obj runtime.Object) bool {
	switch obj.(type) {
	case *corev1.Namespace, *corev1.Node, *corev1.PersistentVolume, *rbacv1.ClusterRole, *rbacv1.ClusterRoleBinding,
		*anpv1alpha1.AdminNetworkPolicy, *anpv1alpha1.BaselineAdminNetworkPolicy:
		return false
	}
	return true
}

// String identifies a workload in messages: namespace/name (Kind).
func (w *Workload) String() string { return fmt.Sprintf("%s/%s (%s)", w.Namespace, w.Name, w.Kind) }
