package controlplane

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"redoubt.dev/redoubt/internal/inventory"
)

// MaxKubeletConfigBytes caps a kubelet configuration document.
const MaxKubeletConfigBytes = 1 << 20

// KubeletSettings are the kubelet settings the checks read, each with the value in effect and
// where it came from. The kubelet's own precedence applies: a flag given on the command line
// beats the configuration file, which beats the defaults; and the defaults differ with a
// configuration file (the KubeletConfiguration v1beta1 defaults: anonymous auth off, Webhook
// authorization, no read-only port) and without one (the legacy flag defaults: anonymous auth on,
// AlwaysAllow, read-only port 10255). A configz document is the kubelet's configuration in
// effect, flags applied.
type KubeletSettings struct {
	values map[string]Setting
}

// Setting is one kubelet setting in effect.
type Setting struct {
	Value string
	// From says where the value came from: "--flag", "config file PATH", "configz", or
	// "default".
	From string
}

// Get returns a setting by its KubeletConfiguration field path ("readOnlyPort").
func (k *KubeletSettings) Get(key string) Setting { return k.values[key] }

// Bool returns a boolean setting; ok is false when it is unset or unparseable.
func (k *KubeletSettings) Bool(key string) (value, ok bool) {
	b, err := strconv.ParseBool(k.values[key].Value)
	return b, err == nil
}

// Describe renders a setting for messages: "readOnlyPort=10255 (default)".
func (k *KubeletSettings) Describe(key string) string {
	s := k.values[key]
	v := s.Value
	if v == "" {
		v = `""`
	}
	return fmt.Sprintf("%s=%s (%s)", key, v, s.From)
}

// kubeletSetting ties a KubeletConfiguration field to its flag and its v1beta1 default.
type kubeletSetting struct {
	key, flag, configDefault string
	// serialized is true for fields configz always carries (pointers, which defaulting
	// fills, and structs such as durations), so a missing one means the default, not zero.
	serialized bool
}

// kubeletKeys are the settings the checks read. The configuration defaults are those of
// k8s.io/kubernetes/pkg/kubelet/apis/config/v1beta1/defaults.go (v1.37); the flag defaults
// (used without a configuration file) come from the kubelet's flag table.
var kubeletKeys = []kubeletSetting{
	{"authentication.anonymous.enabled", "anonymous-auth", "false", false},
	{"authentication.webhook.enabled", "authentication-token-webhook", "true", false},
	{"authentication.x509.clientCAFile", "client-ca-file", "", false},
	{"authorization.mode", "authorization-mode", "Webhook", false},
	{"readOnlyPort", "read-only-port", "0", false},
	{"rotateCertificates", "rotate-certificates", "false", false},
	{"serverTLSBootstrap", "rotate-server-certificates", "false", false},
	{"tlsCertFile", "tls-cert-file", "", false},
	{"tlsPrivateKeyFile", "tls-private-key-file", "", false},
	{"protectKernelDefaults", "protect-kernel-defaults", "false", false},
	{"makeIPTablesUtilChains", "make-iptables-util-chains", "true", true},
	{"streamingConnectionIdleTimeout", "streaming-connection-idle-timeout", "4h0m0s", true},
	{"eventRecordQPS", "event-qps", "50", true},
	{"tlsCipherSuites", "tls-cipher-suites", "", false},
}

// kubeletSettings works out the settings in effect from a kubelet's command line and its
// configuration document.
func kubeletSettings(flags *Flags, c *inventory.Component) (*KubeletSettings, []string) {
	k := &KubeletSettings{values: map[string]Setting{}}
	var problems []string
	var doc map[string]any
	from := ""
	if len(c.Config) > 0 {
		var err error
		doc, err = decodeKubeletConfig(c.Config, c.ConfigSource == "configz")
		where := c.Origin.File
		if c.ConfigSource == "configz" {
			where = "configz of node " + c.Node
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("kubelet configuration %s: %v", where, err))
			doc = nil
		} else if c.ConfigSource == "configz" {
			from = "configz"
		} else {
			from = "config file " + c.Origin.File
		}
	}
	// Without the configuration document the kubelet read, any verdict would be a guess.
	needsDoc := c.ConfigSource != "" || (flags != nil && flags.Given("config"))
	if needsDoc && doc == nil {
		if len(problems) == 0 {
			switch {
			case c.Error != "":
			case flags != nil && flags.Given("config"):
				problems = append(problems, fmt.Sprintf("the kubelet reads --config %s, which could not be read here", flags.Value("config")))
			default:
				problems = append(problems, "no kubelet configuration was read")
			}
		}
		return nil, problems
	}
	configUsed := doc != nil
	for _, ks := range kubeletKeys {
		switch {
		case flags != nil && flags.Given(ks.flag):
			k.values[ks.key] = Setting{Value: flags.Value(ks.flag), From: "--" + ks.flag}
		case doc != nil && lookup(doc, ks.key) != nil:
			k.values[ks.key] = Setting{Value: scalar(lookup(doc, ks.key)), From: from}
		case c.ConfigSource == "configz" && doc != nil && ks.serialized:
			k.values[ks.key] = Setting{Value: ks.configDefault, From: "configz"}
		case c.ConfigSource == "configz" && doc != nil:
			// configz omits fields at their zero value.
			k.values[ks.key] = Setting{Value: zeroOf(ks.configDefault), From: "configz"}
		case configUsed:
			k.values[ks.key] = Setting{Value: ks.configDefault, From: "default"}
		default:
			k.values[ks.key] = Setting{Value: SpecFor(Kubelet).Flags[ks.flag].Default, From: "default"}
		}
	}
	return k, problems
}

// zeroOf is the zero value of a setting whose default is def, as configz omits it.
func zeroOf(def string) string {
	switch def {
	case "true", "false":
		return "false"
	case "0":
		return "0"
	}
	return ""
}

// decodeKubeletConfig reads a KubeletConfiguration (YAML or JSON), or a configz document
// ({"kubeletconfig": {...}}), into a generic map, after checking that it decodes as the upstream
// type.
func decodeKubeletConfig(data []byte, configz bool) (map[string]any, error) {
	if len(data) > MaxKubeletConfigBytes {
		return nil, fmt.Errorf("larger than %d bytes", MaxKubeletConfigBytes)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if configz {
		inner, ok := doc["kubeletconfig"].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("no kubeletconfig object in the configz response")
		}
		doc = inner
	} else if kind, _ := doc["kind"].(string); kind != "KubeletConfiguration" {
		return nil, fmt.Errorf("kind %q, want KubeletConfiguration", kind)
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	var typed kubeletConfiguration
	if err := json.Unmarshal(raw, &typed); err != nil {
		return nil, err
	}
	return doc, nil
}

// kubeletConfiguration holds the fields of kubelet.config.k8s.io/v1beta1 KubeletConfiguration
// the checks read, with the upstream JSON names and types, so that a value of the wrong type is
// reported as the kubelet would reject it. (k8s.io/kubelet's own type would drag the metrics and
// tracing libraries into the binary for these few fields.)
type kubeletConfiguration struct {
	Authentication struct {
		X509 struct {
			ClientCAFile string `json:"clientCAFile"`
		} `json:"x509"`
		Webhook struct {
			Enabled *bool `json:"enabled"`
		} `json:"webhook"`
		Anonymous struct {
			Enabled *bool `json:"enabled"`
		} `json:"anonymous"`
	} `json:"authentication"`
	Authorization struct {
		Mode string `json:"mode"`
	} `json:"authorization"`
	ReadOnlyPort                   int32           `json:"readOnlyPort"`
	RotateCertificates             bool            `json:"rotateCertificates"`
	ServerTLSBootstrap             bool            `json:"serverTLSBootstrap"`
	TLSCertFile                    string          `json:"tlsCertFile"`
	TLSPrivateKeyFile              string          `json:"tlsPrivateKeyFile"`
	ProtectKernelDefaults          bool            `json:"protectKernelDefaults"`
	MakeIPTablesUtilChains         *bool           `json:"makeIPTablesUtilChains"`
	StreamingConnectionIdleTimeout metav1.Duration `json:"streamingConnectionIdleTimeout"`
	EventRecordQPS                 *int32          `json:"eventRecordQPS"`
	TLSCipherSuites                []string        `json:"tlsCipherSuites"`
}

func lookup(doc map[string]any, key string) any {
	var cur any = doc
	for _, part := range strings.Split(key, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}

func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
