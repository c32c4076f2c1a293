package infra

import (
	"slices"
	"testing"

	"redoubt.dev/redoubt/internal/controlplane"
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
)

// Each benchmark item the node audit reads from command lines and kubelet settings, failing and
// passing, as processes on one node.
func TestBenchmarkFlagChecks(t *testing.T) {
	kubeletConfig := func(extra string) inventory.Component {
		return inventory.Component{Name: controlplane.Kubelet, PID: 40, Args: []string{"--config=/var/lib/kubelet/config.yaml"},
			Config:       []byte("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nserverTLSBootstrap: true\n" + extra),
			ConfigSource: "file", Origin: inventory.Origin{File: "/var/lib/kubelet/config.yaml"}}
	}
	tests := []struct {
		name  string
		comps []inventory.Component
		check string
		want  bool
	}{
		{"ServiceAccount disabled", []inventory.Component{{Name: controlplane.APIServer, PID: 1, Args: []string{"--disable-admission-plugins=ServiceAccount"}}}, "apiserver-admission-plugins-disabled", true},
		{"NamespaceLifecycle disabled", []inventory.Component{{Name: controlplane.APIServer, PID: 1, Args: []string{"--disable-admission-plugins=DefaultStorageClass,NamespaceLifecycle"}}}, "apiserver-admission-plugins-disabled", true},
		{"defaults keep both", []inventory.Component{{Name: controlplane.APIServer, PID: 1, Args: []string{"--disable-admission-plugins=DefaultStorageClass"}}}, "apiserver-admission-plugins-disabled", false},
		{"EventRateLimit missing", []inventory.Component{{Name: controlplane.APIServer, PID: 1, Args: []string{"--enable-admission-plugins=NodeRestriction,AlwaysPullImages"}}}, "apiserver-admission-plugins-recommended", true},
		{"both enabled", []inventory.Component{{Name: controlplane.APIServer, PID: 1, Args: []string{"--enable-admission-plugins=NodeRestriction,AlwaysPullImages,EventRateLimit"}}}, "apiserver-admission-plugins-recommended", false},
		{"3DES and static RSA", []inventory.Component{{Name: controlplane.APIServer, PID: 1, Args: []string{"--tls-cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"}}}, "apiserver-weak-tls-ciphers", true},
		{"ECDHE GCM only", []inventory.Component{{Name: controlplane.APIServer, PID: 1, Args: []string{"--tls-cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"}}}, "apiserver-weak-tls-ciphers", false},
		{"Go defaults", []inventory.Component{{Name: controlplane.APIServer, PID: 1, Args: []string{}}}, "apiserver-weak-tls-ciphers", false},
		{"RotateKubeletServerCertificate off", []inventory.Component{{Name: controlplane.ControllerManager, PID: 2, Args: []string{"--feature-gates=RotateKubeletServerCertificate=false,Foo=true"}}}, "controller-manager-kubelet-server-certificate-rotation", true},
		{"RotateKubeletServerCertificate default", []inventory.Component{{Name: controlplane.ControllerManager, PID: 2, Args: []string{"--feature-gates=Foo=true"}}}, "controller-manager-kubelet-server-certificate-rotation", false},
		{"etcd trusts the cluster CA", []inventory.Component{
			{Name: controlplane.APIServer, PID: 1, Args: []string{"--client-ca-file=/etc/kubernetes/pki/ca.crt"}},
			{Name: controlplane.Etcd, PID: 3, Args: []string{"--trusted-ca-file=/etc/kubernetes/pki/ca.crt", "--peer-trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt"}}}, "etcd-shares-apiserver-ca", true},
		{"etcd peers trust the cluster CA", []inventory.Component{
			{Name: controlplane.APIServer, PID: 1, Args: []string{"--client-ca-file=/etc/kubernetes/pki/ca.crt"}},
			{Name: controlplane.Etcd, PID: 3, Args: []string{"--trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt", "--peer-trusted-ca-file=/etc/kubernetes/pki//ca.crt"}}}, "etcd-shares-apiserver-ca", true},
		{"etcd has its own CA", []inventory.Component{
			{Name: controlplane.APIServer, PID: 1, Args: []string{"--client-ca-file=/etc/kubernetes/pki/ca.crt"}},
			{Name: controlplane.Etcd, PID: 3, Args: []string{"--trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt", "--peer-trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt"}}}, "etcd-shares-apiserver-ca", false},
		{"streaming timeout 0 in the config", []inventory.Component{kubeletConfig("streamingConnectionIdleTimeout: 0s\n")}, "kubelet-streaming-idle-timeout", true},
		{"streaming timeout 0 as a flag", []inventory.Component{func() inventory.Component {
			c := kubeletConfig("")
			c.Args = append(c.Args, "--streaming-connection-idle-timeout=0")
			return c
		}()}, "kubelet-streaming-idle-timeout", true},
		{"streaming timeout 5m", []inventory.Component{kubeletConfig("streamingConnectionIdleTimeout: 5m\n")}, "kubelet-streaming-idle-timeout", false},
		{"iptables chains off", []inventory.Component{kubeletConfig("makeIPTablesUtilChains: false\n")}, "kubelet-iptables-util-chains", true},
		{"iptables chains default", []inventory.Component{kubeletConfig("")}, "kubelet-iptables-util-chains", false},
		{"hostname override", []inventory.Component{func() inventory.Component {
			c := kubeletConfig("")
			c.Args = append(c.Args, "--hostname-override=node-a")
			return c
		}()}, "kubelet-hostname-override", true},
		{"no hostname override", []inventory.Component{kubeletConfig("")}, "kubelet-hostname-override", false},
		{"event QPS 0", []inventory.Component{kubeletConfig("eventRecordQPS: 0\n")}, "kubelet-event-qps", true},
		{"event QPS default", []inventory.Component{kubeletConfig("")}, "kubelet-event-qps", false},
		{"no serving certificate, no rotation", []inventory.Component{kubeletConfig("serverTLSBootstrap: false\n")}, "kubelet-serving-certificate", true},
		{"serving certificate given", []inventory.Component{kubeletConfig("serverTLSBootstrap: false\ntlsCertFile: /var/lib/kubelet/pki/kubelet.crt\ntlsPrivateKeyFile: /var/lib/kubelet/pki/kubelet.key\n")}, "kubelet-serving-certificate", false},
		{"serving certificate rotated", []inventory.Component{kubeletConfig("")}, "kubelet-serving-certificate", false},
		{"kubelet ciphers in the config", []inventory.Component{kubeletConfig("tlsCipherSuites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_3DES_EDE_CBC_SHA]\n")}, "kubelet-weak-tls-ciphers", true},
		{"kubelet ciphers as a flag", []inventory.Component{func() inventory.Component {
			c := kubeletConfig("")
			c.Args = append(c.Args, "--tls-cipher-suites=TLS_ECDHE_RSA_WITH_RC4_128_SHA")
			return c
		}()}, "kubelet-weak-tls-ciphers", true},
		{"kubelet strong ciphers", []inventory.Component{kubeletConfig("tlsCipherSuites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]\n")}, "kubelet-weak-tls-ciphers", false},
		{"kubelet default ciphers", []inventory.Component{kubeletConfig("")}, "kubelet-weak-tls-ciphers", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := liveSnapshot("")
			s.Source = inventory.Source{Kind: inventory.SourceNode, Node: "n1"}
			for _, c := range tt.comps {
				c := c
				s.Components = append(s.Components, &c)
			}
			fs := run(s)
			checkFindings(t, fs)
			got := slices.ContainsFunc(fs, func(f finding.Finding) bool { return f.Check == tt.check })
			if got != tt.want {
				t.Errorf("%s reported: %v, want %v", tt.check, got, tt.want)
				for _, f := range fs {
					t.Log(f.Check, f.Message)
				}
			}
			for _, f := range fs {
				if f.Check == "control-plane-not-assessable" && slices.Contains(f.Evidence["checks"].([]string), tt.check) {
					t.Errorf("%s not assessable: %s", tt.check, f.Message)
				}
			}
		})
	}
}
