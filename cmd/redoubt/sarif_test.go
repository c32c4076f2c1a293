package main

import (
	"encoding/json"
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
// Every result carries a physical location, which GitHub code scanning needs to keep it.
func TestSARIFValidates(t *testing.T) {
	p := filepath.Join(t.TempDir(), "shop.sarif")
	if code, _, errOut := redoubt(t, "", "scan", example, "--format", "sarif", "-o", p); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var log struct {
		Runs []struct {
			Results []struct {
				RuleID    string `json:"ruleId"`
				Locations []struct {
					PhysicalLocation *struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(raw, &log); err != nil {
		t.Fatal(err)
	}
	for _, r := range log.Runs[0].Results {
		if len(r.Locations) == 0 || r.Locations[0].PhysicalLocation == nil || r.Locations[0].PhysicalLocation.ArtifactLocation.URI == "" {
			t.Errorf("a %s result has no physical location", r.RuleID)
		}
	}
	tool := os.Getenv(SarifValidatorEnv)
	if tool == "" {
		t.Skipf("%s is not set: install @microsoft/sarif-multitool-linux (as .ci/run does) to validate SARIF output", SarifValidatorEnv)
	}
	out, err := exec.Command(tool, "validate", p).CombinedOutput()
	if err != nil {
		t.Fatalf("sarif multitool: %v\n%s", err, out)
	}
	if strings.Contains(string(out), ": error ") || !strings.Contains(string(out), "Analysis completed successfully") {
		t.Errorf("SARIF does not validate:\n%s", out)
	}
}
