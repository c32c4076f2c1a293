package inventory

import (
	corev1 "k8s.io/api/core/v1"
)

// ContainerSecurity is the security context a container runs with: what the container's
// securityContext sets, else what the pod's securityContext sets (for the fields a pod may set),
// else the default the kubelet applies. The checks, the inventory and the risk ranking all read
// security contexts through ResolveSecurity, so they cannot disagree about one container.
type ContainerSecurity struct {
	Privileged bool
	// AllowPrivilegeEscalation is the effective no_new_privs setting: true unless the container
	// sets allowPrivilegeEscalation: false, and always true for a privileged container.
	AllowPrivilegeEscalation bool
	// RunAsUser and RunAsGroup are nil when neither level sets them: the image decides.
	RunAsUser  *int64
	RunAsGroup *int64
	// RunAsNonRoot is true when the kubelet refuses to start the container as UID 0.
	RunAsNonRoot           bool
	ReadOnlyRootFilesystem bool
	AddCapabilities        []corev1.Capability
	DropCapabilities       []corev1.Capability
	// Seccomp is the seccomp profile type, "" when neither level sets one: the container
	// runtime's default applies, which is Unconfined unless the kubelet runs with
	// --seccomp-default.
	Seccomp corev1.SeccompProfileType
	// SeccompLocalhostProfile is the profile file of a Localhost profile.
	SeccompLocalhostProfile string
	// SELinux, AppArmor and WindowsOptions are nil when neither level sets them.
	SELinux        *corev1.SELinuxOptions
	AppArmor       *corev1.AppArmorProfile
	WindowsOptions *corev1.WindowsSecurityContextOptions
	// ProcMount is Default unless the container asks for Unmasked.
	ProcMount corev1.ProcMountType
}

// ResolveSecurity resolves the security context container c of pod spec runs with.
func ResolveSecurity(spec *corev1.PodSpec, c *corev1.Container) ContainerSecurity {
	out := ContainerSecurity{AllowPrivilegeEscalation: true, ProcMount: corev1.DefaultProcMount}
	if psc := spec.SecurityContext; psc != nil {
		out.RunAsUser, out.RunAsGroup = psc.RunAsUser, psc.RunAsGroup
		out.RunAsNonRoot = psc.RunAsNonRoot != nil && *psc.RunAsNonRoot
		if p := psc.SeccompProfile; p != nil {
			out.Seccomp = p.Type
			out.SeccompLocalhostProfile = deref(p.LocalhostProfile)
		}
		out.SELinux, out.AppArmor, out.WindowsOptions = psc.SELinuxOptions, psc.AppArmorProfile, psc.WindowsOptions
	}
	sc := c.SecurityContext
	if sc == nil {
		return out
	}
	out.Privileged = sc.Privileged != nil && *sc.Privileged
	if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation && !out.Privileged {
		out.AllowPrivilegeEscalation = false
	}
	if sc.RunAsUser != nil {
		out.RunAsUser = sc.RunAsUser
	}
	if sc.RunAsGroup != nil {
		out.RunAsGroup = sc.RunAsGroup
	}
	if sc.RunAsNonRoot != nil {
		out.RunAsNonRoot = *sc.RunAsNonRoot
	}
	out.ReadOnlyRootFilesystem = sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem
	if sc.Capabilities != nil {
		out.AddCapabilities, out.DropCapabilities = sc.Capabilities.Add, sc.Capabilities.Drop
	}
	if p := sc.SeccompProfile; p != nil {
		out.Seccomp = p.Type
		out.SeccompLocalhostProfile = deref(p.LocalhostProfile)
	}
	if sc.SELinuxOptions != nil {
		out.SELinux = sc.SELinuxOptions
	}
	if sc.AppArmorProfile != nil {
		out.AppArmor = sc.AppArmorProfile
	}
	if sc.WindowsOptions != nil {
		out.WindowsOptions = sc.WindowsOptions
	}
	if sc.ProcMount != nil && *sc.ProcMount != "" {
		out.ProcMount = *sc.ProcMount
	}
	return out
}

// RunsAsRoot reports whether the container runs as root: UID 0 explicitly, or neither a non-root
// requirement nor a UID set (the image's USER then decides, and most images run as root).
func (s ContainerSecurity) RunsAsRoot() bool {
	if s.RunAsUser != nil {
		return *s.RunAsUser == 0
	}
	return !s.RunAsNonRoot
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
