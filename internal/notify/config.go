package notify

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/store"
)

// Config is the `notifications:` section of the serve configuration file.
type Config struct {
	// BaseURL is where the API of this serve is reachable; messages link to the finding's record.
	BaseURL string `yaml:"baseURL"`
	// MaxPerMessage bounds the notifications one digest message carries (default 100).
	MaxPerMessage int `yaml:"maxPerMessage"`
	// Timeout bounds one POST (default 10s); MaxBackoff the wait between retries (default 10m).
	Timeout    Duration         `yaml:"timeout"`
	MaxBackoff Duration         `yaml:"maxBackoff"`
	Receivers  []ReceiverConfig `yaml:"receivers"`
}

// ReceiverConfig is one receiver of the configuration.
type ReceiverConfig struct {
	Name string `yaml:"name"`
	// Type is webhook or slack.
	Type string `yaml:"type"`
	// URL, or URLFile naming a file that holds it (a Slack webhook URL is a secret).
	URL     string `yaml:"url"`
	URLFile string `yaml:"urlFile"`
	// MinSeverity: findings at or above it are sent (default high).
	MinSeverity string `yaml:"minSeverity"`
	// Resolved: resolutions are sent too.
	Resolved bool `yaml:"resolved"`
	// TokenFile holds a bearer token sent as "Authorization: Bearer <token>"; HeaderFile a whole
	// header line ("X-Api-Key: abc") instead. At most one of them.
	TokenFile  string `yaml:"tokenFile"`
	HeaderFile string `yaml:"headerFile"`
	// Timeout overrides the section's timeout for this receiver.
	Timeout Duration `yaml:"timeout"`
}

// Duration is a time.Duration written as "30s" or "5m" in YAML.
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: %q is not a duration like 30s or 5m", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MaxConfigSize bounds the configuration file.
const MaxConfigSize = 1 << 20

var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// LoadConfig reads the `notifications:` section of the serve configuration file at path (other
// top-level sections are left to their owners) and validates it. A file without the section is
// an empty configuration: no receivers.
func LoadConfig(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the notifications configuration: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return ParseConfig(path, data)
}

// ParseConfig parses and validates the `notifications:` section of a configuration document;
// name is the file name errors start with.
func ParseConfig(name string, data []byte) (*Config, error) {
	if len(data) > MaxConfigSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, MaxConfigSize)
	}
	var root struct {
		Notifications yaml.Node `yaml:"notifications"`
	}
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	cfg := &Config{}
	if root.Notifications.Kind != 0 {
		// Strict decoding of the section alone: a misspelt field is an error, not ignored.
		sub, err := yaml.Marshal(&root.Notifications)
		if err != nil {
			return nil, fmt.Errorf("%s: notifications: %w", name, err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(sub))
		dec.KnownFields(true)
		if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: notifications: %w", name, err)
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return cfg, nil
}

func (c *Config) validate() error {
	if c.MaxPerMessage < 0 || c.MaxPerMessage > 1000 {
		return fmt.Errorf("notifications.maxPerMessage: %d is not between 1 and 1000", c.MaxPerMessage)
	}
	if c.BaseURL != "" {
		if err := checkURL(c.BaseURL); err != nil {
			return fmt.Errorf("notifications.baseURL: %w", err)
		}
	}
	seen := map[string]bool{}
	for i, r := range c.Receivers {
		at := fmt.Sprintf("notifications.receivers[%d]", i)
		if r.Name != "" {
			at = fmt.Sprintf("notifications.receivers[%d] (%s)", i, r.Name)
		}
		switch {
		case r.Name == "":
			return fmt.Errorf("%s.name: required", at)
		case !nameRE.MatchString(r.Name):
			return fmt.Errorf("%s.name: %q must be lower-case letters, digits and '-', at most 63", at, r.Name)
		case seen[r.Name]:
			return fmt.Errorf("%s.name: %q is used by an earlier receiver", at, r.Name)
		}
		seen[r.Name] = true
		if r.Type != "webhook" && r.Type != "slack" {
			return fmt.Errorf("%s.type: %q is not webhook or slack", at, r.Type)
		}
		switch {
		case r.URL == "" && r.URLFile == "":
			return fmt.Errorf("%s.url: required (or urlFile)", at)
		case r.URL != "" && r.URLFile != "":
			return fmt.Errorf("%s.urlFile: give url or urlFile, not both", at)
		case r.URL != "":
			if err := checkURL(r.URL); err != nil {
				return fmt.Errorf("%s.url: %w", at, err)
			}
		}
		if r.MinSeverity != "" {
			if _, err := finding.ParseSeverity(r.MinSeverity); err != nil {
				return fmt.Errorf("%s.minSeverity: %w", at, err)
			}
		}
		if r.TokenFile != "" && r.HeaderFile != "" {
			return fmt.Errorf("%s.headerFile: give tokenFile or headerFile, not both", at)
		}
	}
	return nil
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return errors.New("must be an http:// or https:// URL with a host")
	}
	return nil
}

// Build builds the configured receivers, reading URL, token and header files. client may be
// nil (http.DefaultClient's transport with the configured timeouts).
func (c *Config) Build(client *http.Client) ([]Receiver, error) {
	timeout := time.Duration(c.Timeout)
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	var out []Receiver
	for i, r := range c.Receivers {
		at := fmt.Sprintf("notifications.receivers[%d] (%s)", i, r.Name)
		p := poster{name: r.Name, url: r.URL, timeout: timeout, maxBody: DefaultMaxBody, client: client}
		if r.Timeout > 0 {
			p.timeout = time.Duration(r.Timeout)
		}
		if r.URLFile != "" {
			u, err := readSecret(r.URLFile)
			if err != nil {
				return nil, fmt.Errorf("%s.urlFile: %w", at, err)
			}
			if err := checkURL(u); err != nil {
				return nil, fmt.Errorf("%s.urlFile: %s: %w", at, r.URLFile, err)
			}
			p.url = u
		}
		switch {
		case r.TokenFile != "":
			tok, err := readSecret(r.TokenFile)
			if err != nil {
				return nil, fmt.Errorf("%s.tokenFile: %w", at, err)
			}
			p.header, p.value = "Authorization", "Bearer "+tok
		case r.HeaderFile != "":
			line, err := readSecret(r.HeaderFile)
			if err != nil {
				return nil, fmt.Errorf("%s.headerFile: %w", at, err)
			}
			k, v, ok := strings.Cut(line, ":")
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			if !ok || k == "" || v == "" || strings.ContainsAny(k, " \t") {
				return nil, fmt.Errorf("%s.headerFile: %s must hold one line \"Name: value\"", at, r.HeaderFile)
			}
			p.header, p.value = http.CanonicalHeaderKey(k), v
		}
		sev := finding.High
		if r.MinSeverity != "" {
			sev, _ = finding.ParseSeverity(r.MinSeverity)
		}
		sr := store.Receiver{Name: r.Name, MinSeverity: sev, Resolved: r.Resolved}
		if r.Type == "slack" {
			out = append(out, &Slack{poster: p, rcv: sr, baseURL: c.BaseURL})
		} else {
			out = append(out, &Webhook{poster: p, rcv: sr, baseURL: c.BaseURL, now: time.Now})
		}
	}
	return out, nil
}

// Options returns dispatcher options with the section's maxPerMessage and maxBackoff; the
// caller adds its logger.
func (c *Config) Options() Options {
	return Options{MaxPerMessage: c.MaxPerMessage, MaxBackoff: time.Duration(c.MaxBackoff)}
}

// readSecret reads a small file holding one value, trimming the line end.
func readSecret(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 64<<10+1))
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	if len(b) > 64<<10 {
		return "", fmt.Errorf("%s: larger than 64 KiB", path)
	}
	s := strings.TrimSpace(string(b))
	if s == "" || strings.ContainsAny(s, "\r\n") {
		return "", fmt.Errorf("%s must hold one non-empty line", path)
	}
	return s, nil
}

// NewWebhook and NewSlack build a receiver without a configuration file (tests, flags).
func NewWebhook(r store.Receiver, url, baseURL string, timeout time.Duration) *Webhook {
	return &Webhook{poster: poster{name: r.Name, url: url, timeout: timeout, maxBody: DefaultMaxBody}, rcv: r, baseURL: baseURL, now: time.Now}
}

// NewSlack: see NewWebhook.
func NewSlack(r store.Receiver, url, baseURL string, timeout time.Duration) *Slack {
	return &Slack{poster: poster{name: r.Name, url: url, timeout: timeout, maxBody: DefaultMaxBody}, rcv: r, baseURL: baseURL}
}
