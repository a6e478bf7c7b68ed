{{/*
Names and labels, as `helm create` and the CloudNativePG and cert-manager
charts spell them.
*/}}

{{- define "wsgi-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's name for its objects; cluster-scoped ones too, so two releases never collide. */}}
{{- define "wsgi-operator.fullname" -}}
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

{{- define "wsgi-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "wsgi-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "wsgi-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "wsgi-operator.labels" -}}
helm.sh/chart: {{ include "wsgi-operator.chart" . }}
{{ include "wsgi-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: operator
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "wsgi-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "wsgi-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository:tag, or repository@digest when a digest is given. */}}
{{- define "wsgi-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* {k: v, ...} -> "k=v,..." (keys sorted): the operator's label flags. */}}
{{- define "wsgi-operator.labelFlag" -}}
{{- $pairs := list }}
{{- range $k, $v := . }}
{{- $pairs = append $pairs (printf "%s=%s" $k $v) }}
{{- end }}
{{- join "," $pairs }}
{{- end }}

{{/* The generated RBAC rules (files/rbac/, `make chart`) of the chosen scope. */}}
{{- define "wsgi-operator.rbacRules" -}}
{{- if .Values.watchNamespaces }}
{{- .Files.Get "files/rbac/namespaced.yaml" }}
{{- else }}
{{- .Files.Get "files/rbac/clusterwide.yaml" }}
{{- end }}
{{- end }}
