{{/* Chart name, full name, labels, images. */}}
{{- define "flinkpg.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "flinkpg.fullname" -}}
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

{{- define "flinkpg.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "flinkpg.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: flinkpg
{{- end }}

{{/* Selector labels of one component: (dict "ctx" . "component" "controller") */}}
{{- define "flinkpg.selector" -}}
app.kubernetes.io/name: {{ include "flinkpg.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "flinkpg.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (printf "%s-controller" (include "flinkpg.fullname" .)) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* registry/repository:tag, the tag defaulting to appVersion: (dict "image" .Values.image "ctx" .) */}}
{{- define "flinkpg.image" -}}
{{- $tag := default .ctx.Chart.AppVersion .image.tag | toString }}
{{- if .image.registry }}
{{- printf "%s/%s:%s" .image.registry .image.repository $tag }}
{{- else }}
{{- printf "%s:%s" .image.repository $tag }}
{{- end }}
{{- end }}

{{- define "flinkpg.leaderElect" -}}
{{- if or .Values.leaderElection.enabled (gt (int .Values.replicaCount) 1) }}true{{ else }}false{{ end }}
{{- end }}

{{/* The restricted container security context of the peer pods. */}}
{{- define "flinkpg.restrictedContainer" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "flinkpg.kafkaService" -}}{{ include "flinkpg.fullname" . }}-kafka{{- end }}
{{- define "flinkpg.kafkaSecret" -}}{{ include "flinkpg.fullname" . }}-kafka-credentials{{- end }}
{{- define "flinkpg.gatewayService" -}}{{ include "flinkpg.fullname" . }}-flink-sql-gateway{{- end }}
