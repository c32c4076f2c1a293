package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// SarifValidatorEnv names the SARIF Multitool executable (Microsoft's reference SARIF validator,
// from the npm package @microsoft/sarif-multitool-linux); .ci/run installs it and sets it.
const SarifValidatorEnv = "REDOUBT_SARIF_MULTITOOL"

// The SARIF report must validate against the SARIF 2.1.0 schema and the validator's rules, with
// no error: that is what GitHub code scanning ingests.
func TestSARIFValidates(t *testing.T) {
	tool := os.Getenv(SarifValidatorEnv)
	if tool == "" {
		t.Skipf("%s is not set: install @microsoft/sarif-multitool-linux (as .ci/run does) to validate SARIF output", SarifValidatorEnv)
	}
	p := filepath.Join(t.TempDir(), "shop.sarif")
	if code, _, errOut := redoubt(t, "", "scan", example, "--format", "sarif", "-o", p); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	out, err := exec.Command(tool, "validate", p).CombinedOutput()
	if err != nil {
		t.Fatalf("sarif multitool: %v\n%s", err, out)
	}
	if strings.Contains(string(out), ": error ") || !strings.Contains(string(out), "Analysis completed successfully") {
		t.Errorf("SARIF does not validate:\n%s", out)
	}
}
