{{/*
Chart name, truncated to 63 characters (the DNS label limit).
*/}}
{{- define "strata-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name: fullnameOverride, else <release>-<chart> (just <release> when it already contains the
chart name), truncated to 63 characters.
*/}}
{{- define "strata-operator.fullname" -}}
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

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "strata-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels.
*/}}
{{- define "strata-operator.labels" -}}
helm.sh/chart: {{ include "strata-operator.chart" . }}
{{ include "strata-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: strata
{{- end }}

{{/*
Selector labels (immutable on a Deployment: never add to them).
*/}}
{{- define "strata-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "strata-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
ServiceAccount name.
*/}}
{{- define "strata-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "strata-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Container image reference; the tag defaults to the chart's appVersion.
*/}}
{{- define "strata-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
Name of the leader-election Lease (in the release namespace).
*/}}
{{- define "strata-operator.leaseName" -}}
{{- printf "%s-leader" (include "strata-operator.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Converts a duration such as "1h30m" (pattern ^([0-9]+(s|m|h))+$, enforced by the schema) to whole
seconds. Usage: include "strata-operator.durationSeconds" "2h"  ->  7200
*/}}
{{- define "strata-operator.durationSeconds" -}}
{{- $total := 0 }}
{{- range $part := regexFindAll "[0-9]+[smh]" . -1 }}
{{- $n := regexFind "[0-9]+" $part | atoi }}
{{- $unit := trimPrefix (regexFind "[0-9]+" $part) $part }}
{{- if eq $unit "h" }}{{ $n = mul $n 3600 }}{{ else if eq $unit "m" }}{{ $n = mul $n 60 }}{{ end }}
{{- $total = add $total $n }}
{{- end }}
{{- $total }}
{{- end }}

{{/*
Cross-field checks JSON Schema draft-07 cannot express. Included by the Deployment.
*/}}
{{- define "strata-operator.validate" -}}
{{- if and .Values.metrics.enabled (eq (int .Values.metrics.port) (int .Values.health.port)) }}
{{- fail (printf "metrics.port and health.port must differ (both are %d)" (int .Values.health.port)) }}
{{- end }}
{{- if .Values.leaderElection.enabled }}
{{- $lease := include "strata-operator.durationSeconds" .Values.leaderElection.leaseDuration | int }}
{{- $renew := include "strata-operator.durationSeconds" .Values.leaderElection.renewDeadline | int }}
{{- $retry := include "strata-operator.durationSeconds" .Values.leaderElection.retryPeriod | int }}
{{- if not (and (gt $lease $renew) (gt $renew $retry) (gt $retry 0)) }}
{{- fail (printf "leaderElection needs leaseDuration > renewDeadline > retryPeriod > 0 (got %s, %s, %s)" .Values.leaderElection.leaseDuration .Values.leaderElection.renewDeadline .Values.leaderElection.retryPeriod) }}
{{- end }}
{{- end }}
{{- if lt (include "strata-operator.durationSeconds" .Values.refresh.defaultInterval | int) 10 }}
{{- fail (printf "refresh.defaultInterval must be at least 10s (got %s)" .Values.refresh.defaultInterval) }}
{{- end }}
{{- end }}
