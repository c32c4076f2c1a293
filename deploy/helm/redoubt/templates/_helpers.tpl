{{- define "redoubt.name" -}}{{ .Release.Name }}{{- end -}}

{{- define "redoubt.labels" -}}
app.kubernetes.io/name: redoubt
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "redoubt.selector" -}}
app.kubernetes.io/name: redoubt
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "redoubt.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end -}}
{{- end -}}
