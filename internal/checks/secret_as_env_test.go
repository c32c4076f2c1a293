package checks

import "testing"

func TestSecretAsEnv(t *testing.T) {
	tests := []struct {
		name string
		spec string
		want []string
	}{
		{"secretKeyRef", `containers:
- name: app
  image: x
  env:
  - {name: LOG_LEVEL, value: info}
  - name: DB_PASSWORD
    valueFrom: {secretKeyRef: {name: db, key: password}}`,
			[]string{`ns/Deployment/web[app]: container "app" takes Secrets as environment variables: DB_PASSWORD from Secret db key password`}},
		{"envFrom secretRef in an init container", `initContainers:
- name: migrate
  image: x
  envFrom: [{secretRef: {name: db}, prefix: DB_}, {configMapRef: {name: settings}}]
containers:
- {name: app, image: x}`,
			[]string{`ns/Deployment/web[migrate]: init container "migrate" takes Secrets as environment variables: every key of Secret db (prefix DB_)`}},
		{"ConfigMaps, field refs and mounted Secrets are not reported", `containers:
- name: app
  image: x
  env:
  - name: MODE
    valueFrom: {configMapKeyRef: {name: settings, key: mode}}
  - name: NODE
    valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
  envFrom: [{configMapRef: {name: settings}}]
  volumeMounts: [{name: db, mountPath: /var/run/secrets/db, readOnly: true}]
volumes:
- {name: db, secret: {secretName: db}}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			equal(t, runCheck(t, "secret-as-env", snapshotOf(t, deploymentOf("web", tt.spec)), nil), tt.want)
		})
	}
}
