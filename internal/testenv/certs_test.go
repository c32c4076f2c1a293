package testenv

import (
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"slices"
	"testing"
	"time"
)

func TestCertificatesChainToTheCA(t *testing.T) {
	now := time.Now()
	ca, err := newAuthority(now)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(ca.Cert) {
		t.Fatal("CA certificate does not parse")
	}

	serving, err := ca.serving(now)
	if err != nil {
		t.Fatal(err)
	}
	cert := parseLeaf(t, serving)
	for _, name := range append(slices.Clone(servingDNSNames), "127.0.0.1", serviceIP) {
		_, err := cert.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
		if err != nil {
			t.Errorf("serving certificate for %q: %v", name, err)
		}
	}
	if _, err := cert.Verify(x509.VerifyOptions{DNSName: "example.com", Roots: roots}); err == nil {
		t.Error("serving certificate is valid for example.com")
	}

	tests := []struct {
		user   string
		groups []string
	}{
		{certAdminUser, []string{"system:masters"}},
		{"system:kube-controller-manager", nil},
	}
	for _, tt := range tests {
		pair, err := ca.client(now, tt.user, tt.groups...)
		if err != nil {
			t.Fatal(err)
		}
		cert := parseLeaf(t, pair)
		if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("client certificate of %s: %v", tt.user, err)
		}
		if cert.Subject.CommonName != tt.user || !slices.Equal(cert.Subject.Organization, tt.groups) {
			t.Errorf("client certificate subject = CN %q O %q, want CN %q O %q",
				cert.Subject.CommonName, cert.Subject.Organization, tt.user, tt.groups)
		}
	}
}

func TestServiceAccountKeysMatch(t *testing.T) {
	pair, err := serviceAccountKeys()
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := pem.Decode(pair.Key)
	pub, _ := pem.Decode(pair.Cert)
	if priv == nil || priv.Type != "RSA PRIVATE KEY" || pub == nil || pub.Type != "PUBLIC KEY" {
		t.Fatalf("PEM blocks: private %v, public %v", priv, pub)
	}
	key, err := x509.ParsePKCS1PrivateKey(priv.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := x509.ParsePKIXPublicKey(pub.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !key.PublicKey.Equal(pk.(*rsa.PublicKey)) {
		t.Error("the public key is not the private key's")
	}
}

// parseLeaf checks that the key matches the certificate and returns the certificate.
func parseLeaf(t *testing.T, pair keyPair) *x509.Certificate {
	t.Helper()
	c, err := tls.X509KeyPair(pair.Cert, pair.Key)
	if err != nil {
		t.Fatalf("key pair: %v", err)
	}
	return c.Leaf
}
