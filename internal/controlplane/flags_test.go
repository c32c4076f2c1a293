package controlplane

import (
	"slices"
	"strings"
	"testing"
)

func TestParsePFlag(t *testing.T) {
	api := SpecFor(APIServer)
	tests := []struct {
		name      string
		args      []string
		flag      string
		want      string
		given     bool
		positions []string
	}{
		{"default", nil, "anonymous-auth", "true", false, nil},
		{"equals", []string{"--anonymous-auth=false"}, "anonymous-auth", "false", true, nil},
		// A boolean takes no separate value: "false" is a positional argument, the flag is true.
		{"bool then word", []string{"--anonymous-auth", "false"}, "anonymous-auth", "true", true, []string{"false"}},
		{"string space", []string{"--audit-log-path", "/var/log/audit.log"}, "audit-log-path", "/var/log/audit.log", true, nil},
		{"last wins", []string{"--profiling=false", "--profiling=true"}, "profiling", "true", true, nil},
		{"underscore", []string{"--anonymous_auth=false"}, "anonymous-auth", "false", true, nil},
		{"list accumulates", []string{"--enable-admission-plugins=NodeRestriction", "--enable-admission-plugins", "PodSecurity,EventRateLimit"},
			"enable-admission-plugins", "NodeRestriction,PodSecurity,EventRateLimit", true, nil},
		{"interspersed positional", []string{"extra", "--profiling=false"}, "profiling", "false", true, []string{"extra"}},
		{"double dash ends flags", []string{"--", "--profiling=false"}, "profiling", "true", false, []string{"--profiling=false"}},
		{"shorthand", []string{"-v", "4"}, "v", "4", true, nil},
		{"shorthand equals", []string{"-v=2"}, "v", "2", true, nil},
		{"empty value", []string{"--token-auth-file="}, "token-auth-file", "", true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Parse(api, tt.args, nil)
			if got := f.Value(tt.flag); got != tt.want {
				t.Errorf("Value(%s) = %q, want %q", tt.flag, got, tt.want)
			}
			if f.Given(tt.flag) != tt.given {
				t.Errorf("Given(%s) = %v, want %v", tt.flag, f.Given(tt.flag), tt.given)
			}
			if !slices.Equal(f.Positional, tt.positions) {
				t.Errorf("Positional = %q, want %q", f.Positional, tt.positions)
			}
		})
	}
}

func TestParsePFlagErrors(t *testing.T) {
	f := Parse(SpecFor(APIServer), []string{"--no-such-flag=1", "--audit-log-path"}, nil)
	if !slices.Equal(f.Unknown, []string{"no-such-flag"}) {
		t.Errorf("Unknown = %q", f.Unknown)
	}
	if len(f.Errors) != 1 || !strings.Contains(f.Errors[0], "audit-log-path") {
		t.Errorf("Errors = %q, want the flag without its argument", f.Errors)
	}
}

func TestParseMapFlag(t *testing.T) {
	f := Parse(SpecFor(Kubelet), []string{"--feature-gates=A=true,B=false", "--feature-gates", "B=true"}, nil)
	m := f.Map("feature-gates")
	if m["A"] != "true" || m["B"] != "true" {
		t.Errorf("feature gates = %v, want A and B true (later occurrences merge and win)", m)
	}
}

func TestParseGoFlag(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		flag, want string
		given      bool
		positional []string
	}{
		{"single dash", []string{"-client-cert-auth"}, nil, "client-cert-auth", "true", true, nil},
		{"double dash", []string{"--client-cert-auth=true"}, nil, "client-cert-auth", "true", true, nil},
		{"bool word stops parsing", []string{"--client-cert-auth", "false", "--cert-file=x"}, nil, "cert-file", "", false, []string{"false", "--cert-file=x"}},
		{"string space", []string{"--cert-file", "/etc/etcd/server.crt"}, nil, "cert-file", "/etc/etcd/server.crt", true, nil},
		{"environment", nil, map[string]string{"ETCD_CLIENT_CERT_AUTH": "true"}, "client-cert-auth", "true", true, nil},
		{"flag beats environment", []string{"--client-cert-auth=false"}, map[string]string{"ETCD_CLIENT_CERT_AUTH": "true"}, "client-cert-auth", "false", true, nil},
		{"default", nil, nil, "listen-client-urls", "http://localhost:2379", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Parse(SpecFor(Etcd), tt.args, tt.env)
			if got := f.Value(tt.flag); got != tt.want {
				t.Errorf("Value(%s) = %q, want %q", tt.flag, got, tt.want)
			}
			if f.Given(tt.flag) != tt.given {
				t.Errorf("Given(%s) = %v, want %v", tt.flag, f.Given(tt.flag), tt.given)
			}
			if !slices.Equal(f.Positional, tt.positional) {
				t.Errorf("Positional = %q, want %q", f.Positional, tt.positional)
			}
		})
	}
	f := Parse(SpecFor(Etcd), []string{"--bogus", "--cert-file=x"}, nil)
	if len(f.Errors) == 0 || f.Given("cert-file") {
		t.Errorf("an undefined flag must stop etcd's parsing: errors %q, cert-file given %v", f.Errors, f.Given("cert-file"))
	}
}

func TestDescribe(t *testing.T) {
	f := Parse(SpecFor(APIServer), []string{"--audit-log-maxage=7"}, nil)
	for flag, want := range map[string]string{
		"audit-log-maxage":         "--audit-log-maxage=7",
		"profiling":                "--profiling=true (the default)",
		"enable-admission-plugins": "--enable-admission-plugins unset",
	} {
		if got := f.Describe(flag); got != want {
			t.Errorf("Describe(%s) = %q, want %q", flag, got, want)
		}
	}
}

// The generated tables must hold the flags the checks read, with the types that decide how
// they parse; a regenerated table that lost one would silently change verdicts.
func TestFlagTablesHoldCheckedFlags(t *testing.T) {
	want := map[string]map[string]string{
		APIServer: {"anonymous-auth": "bool", "authorization-mode": "stringSlice", "enable-admission-plugins": "stringSlice",
			"profiling": "bool", "token-auth-file": "string", "etcd-servers": "stringSlice", "encryption-provider-config": "string",
			"audit-log-maxage": "int", "service-account-lookup": "bool", "kubelet-certificate-authority": "string",
			"disable-admission-plugins": "stringSlice", "tls-cipher-suites": "stringSlice", "audit-policy-file": "string", "client-ca-file": "string"},
		ControllerManager: {"bind-address": "ip", "profiling": "bool", "use-service-account-credentials": "bool", "root-ca-file": "string",
			"feature-gates": "colonSeparatedMultimapStringString", "kubeconfig": "string"},
		Scheduler: {"bind-address": "ip", "profiling": "bool"},
		Kubelet: {"anonymous-auth": "bool", "read-only-port": "int32", "authorization-mode": "string", "config": "string", "rotate-certificates": "bool",
			"hostname-override": "string", "event-qps": "int32", "make-iptables-util-chains": "bool", "streaming-connection-idle-timeout": "duration", "kubeconfig": "string"},
		Etcd: {"client-cert-auth": "bool", "cert-file": "string", "auto-tls": "bool", "peer-client-cert-auth": "bool", "config-file": "string",
			"trusted-ca-file": "string", "peer-trusted-ca-file": "string", "data-dir": "string"},
	}
	for comp, flags := range want {
		spec := SpecFor(comp)
		if spec == nil {
			t.Fatalf("no flag table for %s", comp)
		}
		for name, typ := range flags {
			if got := spec.Flags[name].Type; got != typ {
				t.Errorf("%s --%s: type %q, want %q", comp, name, got, typ)
			}
		}
	}
	// Defaults the checks depend on.
	for _, d := range []struct{ comp, flag, def string }{
		{APIServer, "anonymous-auth", "true"}, {APIServer, "profiling", "true"}, {ControllerManager, "bind-address", "0.0.0.0"},
		{Kubelet, "read-only-port", "10255"}, {Kubelet, "anonymous-auth", "true"}, {Etcd, "client-cert-auth", "false"},
	} {
		if got := SpecFor(d.comp).Flags[d.flag].Default; got != d.def {
			t.Errorf("%s --%s default %q, want %q", d.comp, d.flag, got, d.def)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("--anonymous-auth=false\x00--enable-admission-plugins\x00A,B\x00-v\x003\x00--\x00x")
	f.Add("-client-cert-auth\x00--cert-file\x00/x")
	f.Fuzz(func(t *testing.T, joined string) {
		args := strings.Split(joined, "\x00")
		for _, comp := range []string{APIServer, Etcd, Kubelet} {
			fl := Parse(SpecFor(comp), args, map[string]string{"ETCD_NAME": "x"})
			for name := range SpecFor(comp).Flags {
				_ = fl.Value(name)
			}
			_ = fl.List("enable-admission-plugins")
		}
	})
}
