{{/* The chart's name, as Kubernetes objects spell it. */}}
{{- define "herald.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name: the prefix of every object. */}}
{{- define "herald.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels of every object; pass (dict "root" $ "component" "node"). */}}
{{- define "herald.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{ include "herald.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: herald
{{- end }}

{{/* The labels that select one component's pods. */}}
{{- define "herald.selectorLabels" -}}
app.kubernetes.io/name: {{ include "herald.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "herald.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "herald.secretName" -}}
{{- .Values.secret.name | default (include "herald.fullname" .) }}
{{- end }}

{{- define "herald.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- .Values.serviceAccount.name | default (include "herald.fullname" .) }}
{{- else }}
{{- .Values.serviceAccount.name | default "default" }}
{{- end }}
{{- end }}

{{/* One TOML value: a string, number, boolean, array or inline table. */}}
{{- define "herald.tomlValue" -}}
{{- $v := . -}}
{{- if kindIs "map" $v -}}
{ {{- $first := true }}{{ range $k, $x := $v }}{{ if not $first }},{{ end }}{{ $first = false }} {{ $k }} = {{ include "herald.tomlValue" $x }}{{ end }} }
{{- else if kindIs "slice" $v -}}
[{{ range $i, $x := $v }}{{ if $i }}, {{ end }}{{ include "herald.tomlValue" $x }}{{ end }}]
{{- else if kindIs "string" $v -}}
{{ toJson $v }}
{{- else if or (kindIs "float64" $v) (kindIs "int" $v) (kindIs "int64" $v) -}}
{{- if eq (float64 $v) (floor $v) }}{{ int64 $v }}{{ else }}{{ $v }}{{ end }}
{{- else -}}
{{ $v }}
{{- end -}}
{{- end }}

{{/* A TOML table, then a blank line; pass (dict "name" "client" "values" .Values.config.client). */}}
{{- define "herald.tomlTable" -}}
{{- if .values -}}
[{{ .name }}]
{{ range $k, $v := .values -}}
{{ $k }} = {{ include "herald.tomlValue" $v }}
{{ end }}
{{ end -}}
{{- end }}

{{/* herald.toml, from .Values.config and the chart's own settings. */}}
{{- define "herald.toml" -}}
# Rendered by the Helm chart from .Values.config; the listeners, node id, advertised URLs, the
# Redis URL and the secrets come from the environment (HERALD_*).
{{ with .Values.config.hubs -}}
hubs = {{ include "herald.tomlValue" . }}
{{ end }}
{{ range $section := list "log" "auth" "client" "rest" "upstream" "cluster" -}}
{{ include "herald.tomlTable" (dict "name" $section "values" (get $.Values.config $section)) }}
{{- end -}}
{{ include "herald.tomlTable" (dict "name" "redis" "values" (pick .Values.redis "prefix" "outage_buffer" "connect_timeout")) -}}
[shutdown]
grace_period = "{{ .Values.node.shutdownGracePeriodSeconds }}s"
{{- range .Values.config.feeds }}

[[feeds]]
{{- range $k, $v := . }}
{{ $k }} = {{ include "herald.tomlValue" $v }}
{{- end }}
{{- end }}
{{- end }}

{{/* The Redis URL: the bundled Redis when no URL is given. */}}
{{- define "herald.redisUrl" -}}
{{- if .Values.redis.url }}
{{- .Values.redis.url }}
{{- else if .Values.redis.bundled.enabled }}
{{- printf "redis://%s-redis:6379" (include "herald.fullname" .) }}
{{- else }}
{{- fail "redis: set redis.url (redis://, rediss://, redis+sentinel://, redis+cluster://), redis.urlFromSecret, or redis.bundled.enabled=true" }}
{{- end }}
{{- end }}

{{/* The environment every Herald container shares: config file, Redis, secrets. */}}
{{- define "herald.commonEnv" -}}
- name: HERALD_CONFIG
  value: /etc/herald/herald.toml
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: HERALD_NODE_ID
  value: $(POD_NAME)
- name: HERALD_ADMIN_LISTEN
  value: "0.0.0.0:9090"
{{- if .Values.redis.urlFromSecret }}
- name: HERALD_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "herald.secretName" . }}
      key: redis-url
{{- else }}
- name: HERALD_REDIS_URL
  value: {{ include "herald.redisUrl" . | quote }}
{{- end }}
- name: HERALD_CONNECTION_STRING
  valueFrom:
    secretKeyRef:
      name: {{ include "herald.secretName" . }}
      key: connection-string
      optional: true
- name: HERALD_ADMIN_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "herald.secretName" . }}
      key: admin-token
      optional: true
{{- range $name, $value := .Values.secret.extra }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "herald.secretName" $ }}
      key: {{ $name }}
{{- end }}
{{- end }}

{{/* The pod-level settings both Deployments share; pass (dict "root" $ "pod" .Values.node). */}}
{{- define "herald.podCommon" -}}
serviceAccountName: {{ include "herald.serviceAccountName" .root }}
# Herald does not talk to the Kubernetes API (workload identity projects its own token).
automountServiceAccountToken: false
securityContext:
  {{- toYaml .root.Values.podSecurityContext | nindent 2 }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .pod.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .pod.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .pod.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Pod labels beyond the selector: workload identity and the user's. */}}
{{- define "herald.podLabels" -}}
{{- if .root.Values.workloadIdentity.enabled }}
azure.workload.identity/use: "true"
{{- end }}
{{- with .pod.podLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}
