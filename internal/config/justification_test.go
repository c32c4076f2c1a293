package config

import (
	"strings"
	"testing"
)

func TestExceptionJustification(t *testing.T) {
	cfg, err := Parse(".redoubt.yaml", []byte(`exceptions:
  - vulnerability: CVE-2021-23337
    packages: [lodash]
    reason: template() never sees user input
    owner: team-api
    justification: vulnerable_code_not_in_execute_path
`))
	if err != nil || cfg.Exceptions[0].Justification != "vulnerable_code_not_in_execute_path" {
		t.Fatalf("%v %+v", err, cfg)
	}
	_, err = Parse(".redoubt.yaml", []byte(`exceptions:
  - vulnerability: CVE-2021-23337
    reason: r
    owner: o
    justification: because
`))
	if err == nil || !strings.Contains(err.Error(), ".redoubt.yaml:2") || !strings.Contains(err.Error(), "component_not_present") {
		t.Errorf("unknown justification: %v", err)
	}
}
