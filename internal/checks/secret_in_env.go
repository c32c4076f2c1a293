package checks

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
)

// secretInEnv forbids secrets written as literal environment values in the pod spec: an env
// entry with a value (not valueFrom) whose name says it is a credential (PASSWORD, SECRET,
// TOKEN, API_KEY, PRIVATE_KEY, CREDENTIALS, ...) or whose value has the shape of a known key
// (AWS access keys, GitHub and Slack tokens, private keys, JWTs, URLs with a password). A value
// that is a URL (with no password, and no token, key or signature in its query) or a host name
// is where a credential is used, not the credential: TOKEN_URL=https://auth.example.com/token
// and AUTH_TOKEN_AUDIENCE=api.example.com are not findings. Such a value is readable by
// everyone who can read the workload, lives in Git and in every ReplicaSet's history. Findings
// point at the env entry's line and never repeat the value.
var secretInEnv = registerWorkload(finding.Rule{
	ID:          "secret-in-env",
	Title:       "Secret as a literal environment value",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.High,
	References:  []string{"cis:5.4.2", "cwe:CWE-798"},
	Description: "A credential is written as a literal env value in the workload. Everyone who can get the workload (or read the repository) reads it, it stays in every old ReplicaSet and Git commit, and rotating it means a redeploy.",
	Remediation: "Move the value into a Secret (or an external secret store) and reference it with env.valueFrom.secretKeyRef, or better, mount it as a file. Then rotate the exposed credential.",
}, func(c *Context, w *inventory.Workload, e *emitter) {
	for ct := range containers(&w.Template.Spec) {
		for _, env := range ct.Env {
			if env.ValueFrom != nil || env.Value == "" {
				continue
			}
			why := secretLike(env.Name, env.Value)
			if why == "" {
				continue
			}
			f := e.containerAt(w, ct.Name, w.EnvLine(ct.Name, env.Name), "%s %q sets env %s to a literal %s", ct.Kind, ct.Name, env.Name, why)
			f.Evidence = map[string]any{"env": env.Name}
		}
	}
})

var (
	secretName = regexp.MustCompile(`(?i)(^|_)(PASSWORD|PASSWD|PASS|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|SECRET_?KEY|CREDENTIALS?|AUTH|CLIENT_SECRET|ENCRYPTION_KEY|SIGNING_KEY|DSN|CONNECTION_STRING)($|_)`)
	// Names that mention a secret but hold a path, a length or a switch.
	notSecretName = regexp.MustCompile(`(?i)(_FILE|_PATH|_DIR|_TTL|_EXPIRY|_EXPIRES|_TIMEOUT|_LENGTH|_ENABLED|_URL_PATH|_HEADER|_NAME|_TYPE|_REF)$`)
	keyShapes     = []struct {
		re   *regexp.Regexp
		what string
	}{
		{regexp.MustCompile(`\b(AKIA|ASIA)[0-9A-Z]{16}\b`), "AWS access key"},
		{regexp.MustCompile(`\bgh[pousr]_[A-Za-z0-9]{36,}\b|\bgithub_pat_[A-Za-z0-9_]{40,}`), "GitHub token"},
		{regexp.MustCompile(`\bxox[baprs]-[A-Za-z0-9-]{10,}`), "Slack token"},
		{regexp.MustCompile(`\b(sk|rk)_live_[A-Za-z0-9]{20,}`), "Stripe key"},
		{regexp.MustCompile(`\bAIza[0-9A-Za-z_-]{35}\b`), "Google API key"},
		{regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`), "private key"},
		{regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`), "JSON Web Token"},
		{regexp.MustCompile(`[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]{3,}@`), "URL with an embedded password"},
	}
)

var (
	// hostName is a DNS name of two or more labels ending in a letter-only top-level label, with an
	// optional port: api.example.com, auth.shop.svc.cluster.local:8443.
	hostName = regexp.MustCompile(`^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\.?(?::[0-9]{1,5})?$`)
	// credentialQuery is a query parameter that carries a credential in a URL.
	credentialQuery = regexp.MustCompile(`(?i)(^|_|-)(token|key|secret|password|passwd|pass|sig|signature|auth|credential|code)s?($|_|-)`)
)

// plainURL reports whether v is an absolute URL that carries no credential: no user
// information, and no query parameter named like one.
func plainURL(v string) bool {
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" || u.Host == "" || u.User != nil {
		return false
	}
	for k := range u.Query() {
		if credentialQuery.MatchString(k) {
			return false
		}
	}
	return true
}

// secretLike says what kind of secret an env entry seems to hold, or "" when it seems to hold none.
func secretLike(name, value string) string {
	for _, k := range keyShapes {
		if k.re.MatchString(value) {
			return k.what
		}
	}
	if !secretName.MatchString(name) || notSecretName.MatchString(name) {
		return ""
	}
	v := strings.TrimSpace(value)
	if len(v) < 6 || strings.HasPrefix(v, "/") || strings.HasPrefix(v, "$(") {
		return ""
	}
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return ""
	}
	if _, err := strconv.ParseBool(v); err == nil {
		return ""
	}
	if plainURL(v) || hostName.MatchString(v) {
		return ""
	}
	return "value that looks like a credential"
}
