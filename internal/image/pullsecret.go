package image

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
)

// DockerConfigKeychain returns the credentials of a Docker config document: the
// .dockerconfigjson key of a kubernetes.io/dockerconfigjson Secret ({"auths": {...}}) or the
// older .dockercfg form (the auths map itself). Registry keys may be host names or URLs.
func DockerConfigKeychain(data []byte) (authn.Keychain, error) {
	type entry struct {
		Auth          string `json:"auth"`
		Username      string `json:"username"`
		Password      string `json:"password"`
		IdentityToken string `json:"identitytoken"`
		RegistryToken string `json:"registrytoken"`
	}
	var doc struct {
		Auths map[string]entry `json:"auths"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("docker config: %w", err)
	}
	if doc.Auths == nil {
		if err := json.Unmarshal(data, &doc.Auths); err != nil {
			return nil, fmt.Errorf("docker config: %w", err)
		}
	}
	kc := keychain{}
	for host, e := range doc.Auths {
		cfg := authn.AuthConfig{Username: e.Username, Password: e.Password, IdentityToken: e.IdentityToken, RegistryToken: e.RegistryToken}
		if e.Auth != "" {
			raw, err := base64.StdEncoding.DecodeString(e.Auth)
			if err != nil {
				return nil, fmt.Errorf("docker config: registry %s: auth is not base64", host)
			}
			u, p, ok := strings.Cut(string(raw), ":")
			if !ok {
				return nil, fmt.Errorf("docker config: registry %s: auth is not user:password", host)
			}
			cfg.Username, cfg.Password = u, p
		}
		kc[registryHost(host)] = authn.FromConfig(cfg)
	}
	return kc, nil
}

// keychain maps registry hosts to credentials.
type keychain map[string]authn.Authenticator

func (k keychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if a, ok := k[r.RegistryStr()]; ok {
		return a, nil
	}
	return authn.Anonymous, nil
}

// registryHost turns "https://host:5000/v1/" into "host:5000".
func registryHost(s string) string {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
	h, _, _ := strings.Cut(s, "/")
	return h
}
