package infra

import (
	"strconv"

	"redoubt.dev/redoubt/internal/controlplane"
	"redoubt.dev/redoubt/internal/finding"
)

// controllerManagerServerCertificateRotation forbids turning off the
// RotateKubeletServerCertificate feature gate on the controller manager (on by default since
// 1.12): with it off, the kubelets' serving-certificate requests are not approved and signed, so
// kubelets serve self-signed certificates that the API server cannot verify.
var controllerManagerServerCertificateRotation = registerComponent(controlplane.ControllerManager, finding.Rule{
	ID:          "controller-manager-kubelet-server-certificate-rotation",
	Title:       "Controller manager turns off kubelet serving certificate rotation",
	Phase:       finding.PhaseInfra,
	Severity:    finding.Medium,
	References:  []string{"cis:1.3.6"},
	Description: "kube-controller-manager runs with --feature-gates=RotateKubeletServerCertificate=false: kubelets cannot get serving certificates from the cluster CA and fall back to self-signed ones.",
	Remediation: "Remove RotateKubeletServerCertificate=false from --feature-gates on kube-controller-manager (the gate is on by default).",
}, func(c *Context, i *controlplane.Instance) verdict {
	v, ok := i.Flags.Map("feature-gates")["RotateKubeletServerCertificate"]
	if !ok {
		return pass()
	}
	on, err := strconv.ParseBool(v)
	if err != nil {
		return unknown("--feature-gates RotateKubeletServerCertificate=%q is not a boolean", v)
	}
	if on {
		return pass()
	}
	return fail("--feature-gates=RotateKubeletServerCertificate=false: kubelets' serving certificates are not rotated").with("featureGate", "RotateKubeletServerCertificate=false")
})
