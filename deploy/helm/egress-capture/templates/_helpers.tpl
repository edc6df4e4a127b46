{{/* Object name prefix: the release name, or <release>-<chart> when the release name lacks the chart's. */}}
{{- define "egress-capture.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "egress-capture.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selects this release's pods; the instance label keeps two releases in one namespace apart. */}}
{{- define "egress-capture.selectorLabels" -}}
app.kubernetes.io/name: {{ include "egress-capture.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "egress-capture.labels" -}}
{{ include "egress-capture.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "egress-capture.adminSecretName" -}}
{{- default (printf "%s-admin" (include "egress-capture.fullname" .)) .Values.admin.existingSecret -}}
{{- end -}}

{{- define "egress-capture.otlpSecretName" -}}
{{- default (printf "%s-otlp" (include "egress-capture.fullname" .)) .Values.otlp.secretName -}}
{{- end -}}

{{- define "egress-capture.gatewayConfigMapName" -}}
{{- default (printf "%s-gateway" (include "egress-capture.fullname" .)) .Values.gateway.configMapName -}}
{{- end -}}

{{/* Non-empty when the release runs several replicas: a StatefulSet, one spool volume per pod, a headless Service. */}}
{{- define "egress-capture.replicated" -}}
{{- if gt (int .Values.replicaCount) 1 -}}true{{- end -}}
{{- end -}}

{{- define "egress-capture.validate" -}}
{{- if lt (int .Values.replicaCount) 1 -}}
{{- fail (printf "replicaCount: %v expected a whole number from 1" .Values.replicaCount) -}}
{{- end -}}
{{- if and (include "egress-capture.replicated" .) (ne .Values.store.mode "remote") -}}
{{- fail (printf "replicaCount: %v needs store.mode=remote: the embedded store lives in one pod's volume and cannot be shared; run a ClickHouse server or ClickHouse Cloud and set store.remote.existingSecret" .Values.replicaCount) -}}
{{- end -}}
{{- if and (include "egress-capture.replicated" .) .Values.persistence.existingClaim -}}
{{- fail (printf "persistence.existingClaim: %q cannot serve %v replicas: each replica gets its own spool volume from persistence.size" .Values.persistence.existingClaim .Values.replicaCount) -}}
{{- end -}}
{{- if not (has .Values.store.mode (list "embedded" "remote")) -}}
{{- fail (printf "store.mode: %q is not one of embedded, remote" .Values.store.mode) -}}
{{- end -}}
{{- if and (eq .Values.store.mode "remote") (not .Values.store.remote.existingSecret) -}}
{{- fail "store.remote.existingSecret: required with store.mode=remote (a Secret holding the ClickHouse URL)" -}}
{{- end -}}
{{- if and (eq .Values.store.mode "embedded") (not .Values.persistence.enabled) -}}
{{- fail "persistence.enabled: must be true with store.mode=embedded (the store lives in the data volume; an emptyDir loses it on every restart)" -}}
{{- end -}}
{{- range $key, $value := .Values.extraConfig -}}
{{- if has $key (list "EGRESS_CAPTURE_GRPC_LISTEN" "EGRESS_CAPTURE_ADMIN_LISTEN" "EGRESS_CAPTURE_DATA_DIR" "EGRESS_CAPTURE_GATEWAY" "EGRESS_CAPTURE_CLICKHOUSE_URL" "EGRESS_CAPTURE_CLICKHOUSE_CA_FILE" "EGRESS_CAPTURE_ADMIN_USER" "EGRESS_CAPTURE_ADMIN_PASSWORD") -}}
{{- fail (printf "extraConfig.%s: set by the chart itself (ports, mounts, store and admin values); use the matching value instead" $key) -}}
{{- end -}}
{{- if not (hasPrefix "EGRESS_CAPTURE_" $key) -}}
{{- fail (printf "extraConfig.%s: expected an EGRESS_CAPTURE_* setting (README option table)" $key) -}}
{{- end -}}
{{- end -}}
{{- if and (not .Values.admin.existingSecret) (ne (empty .Values.admin.user) (empty .Values.admin.password)) -}}
{{- fail "admin.user and admin.password: set both or neither (a password without a user is refused by the service)" -}}
{{- end -}}
{{- end -}}
