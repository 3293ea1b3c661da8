{{/* Chart name, truncated to the 63 characters a DNS label allows. */}}
{{- define "strata.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-qualified name; the release name alone when it already contains the chart name. */}}
{{- define "strata.fullname" -}}
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

{{- define "strata.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every object; call with (dict "ctx" $ "component" "ingester"). */}}
{{- define "strata.labels" -}}
helm.sh/chart: {{ include "strata.chart" .ctx }}
{{ include "strata.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: strata
{{- end -}}

{{- define "strata.selectorLabels" -}}
app.kubernetes.io/name: {{ include "strata.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end -}}

{{- define "strata.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "strata.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "strata.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "strata.ingesterHeadless" -}}
{{- printf "%s-ingester-headless" (include "strata.fullname" .) -}}
{{- end -}}

{{- define "strata.metricsGeneratorHeadless" -}}
{{- printf "%s-metrics-generator-headless" (include "strata.fullname" .) -}}
{{- end -}}

{{- define "strata.compactorHeadless" -}}
{{- printf "%s-compactor-headless" (include "strata.fullname" .) -}}
{{- end -}}

{{- define "strata.querierHeadless" -}}
{{- printf "%s-querier-headless" (include "strata.fullname" .) -}}
{{- end -}}

{{/* Queriers share searches when there are several of them over a shared store (not the
per-pod emptyDir of the local backend): "true" or "". */}}
{{- define "strata.querierPeers" -}}
{{- if and (gt (int .Values.querier.replicas) 1) (ne .Values.storage.backend "local") -}}true{{- end -}}
{{- end -}}

{{/* The Strata configuration file, built as a map so every value is YAML-quoted correctly. */}}
{{- define "strata.config" -}}
{{- $v := .Values -}}
{{- $backend := $v.storage.backend -}}
{{- if not (has $backend (list "local" "s3" "gcs" "azure")) -}}
{{- fail (printf "storage.backend must be local, s3, gcs or azure (got %q)" $backend) -}}
{{- end -}}
{{- $storage := dict "backend" $backend "prefix" $v.storage.prefix "blocklist_poll" $v.storage.blocklist_poll -}}
{{- $_ := set $storage $backend (get $v.storage $backend) -}}
{{- $ringDns := printf "%s.%s.svc.%s:9095" (include "strata.ingesterHeadless" .) .Release.Namespace $v.clusterDomain -}}
{{- /* Compactors share the work on a ring of their own pods; each finds itself in it by its
pod IP, which the container's --config.expand-env fills in from the POD_IP variable. */ -}}
{{- $compactorDns := printf "%s.%s.svc.%s:3200" (include "strata.compactorHeadless" .) .Release.Namespace $v.clusterDomain -}}
{{- $compactorRing := dict "dns" $compactorDns "dns_refresh" $v.ring.dns_refresh "heartbeat_period" $v.ring.heartbeat_period -}}
{{- $cfg := dict
  "multitenancy_enabled" $v.multitenancy.enabled
  "server" (dict "http_listen_address" "0.0.0.0:3200" "grpc_listen_address" "0.0.0.0:9095" "log_level" $v.logLevel)
  "distributor" (dict "receivers" (dict
    "otlp" (dict "grpc_endpoint" "0.0.0.0:4317" "http_endpoint" "0.0.0.0:4318")
    "zipkin" (dict "endpoint" "0.0.0.0:9411")
    "jaeger" (dict "protocols" (dict
      "grpc" (dict "endpoint" "0.0.0.0:14250")
      "thrift_http" (dict "endpoint" "0.0.0.0:14268")
      "thrift_compact" (dict "endpoint" "0.0.0.0:6831")
      "thrift_binary" (dict "endpoint" "0.0.0.0:6832")))))
  "ring" (dict "replication_factor" $v.ring.replication_factor "dns" $ringDns "dns_refresh" $v.ring.dns_refresh "heartbeat_period" $v.ring.heartbeat_period)
  "ingester_client" $v.ingesterClient
  "ingester" (dict "wal" (dict "path" "/var/strata/wal") "flush_all_on_shutdown" true)
  "compactor" (dict "compaction_cycle" $v.compactor.compaction_cycle "block_retention" $v.compactor.block_retention "job_nice" $v.compactor.job_nice "ring" $compactorRing "instance_addr" "${POD_IP}:3200")
  "overrides" (dict "defaults" $v.overrides.defaults "per_tenant_override_config" "/conf/overrides.yaml")
  "storage" $storage
-}}
{{- /* Queriers find their peers through their headless Service and leave themselves out by
pod IP (--config.expand-env fills in POD_IP). */ -}}
{{- if include "strata.querierPeers" . -}}
{{- $querierDns := printf "%s.%s.svc.%s:3200" (include "strata.querierHeadless" .) .Release.Namespace $v.clusterDomain -}}
{{- $_ := set $cfg "querier" (dict "search" (dict "peers" (dict "dns" $querierDns "dns_refresh" $v.ring.dns_refresh "self_address" "${POD_IP}:3200"))) -}}
{{- end -}}
{{- /* The metrics-generator: distributors find the generators through their headless Service
(one copy of each trace, so replication_factor 1); the processors are turned on for every tenant
in overrides.defaults unless it names its own. */ -}}
{{- $mg := $v.metricsGenerator -}}
{{- if $mg.enabled -}}
{{- range $i, $rw := $mg.remoteWrite -}}
{{- if not (and (kindIs "map" $rw) $rw.url) -}}
{{- fail (printf "metricsGenerator.remoteWrite[%d] needs a url" $i) -}}
{{- end -}}
{{- end -}}
{{- $defaults := deepCopy (default (dict) $v.overrides.defaults) -}}
{{- $limits := dict -}}
{{- if kindIs "map" (get $defaults "metrics_generator") -}}
{{- $limits = get $defaults "metrics_generator" -}}
{{- end -}}
{{- if not (hasKey $limits "processors") -}}
{{- $_ := set $limits "processors" $mg.processors -}}
{{- end -}}
{{- $_ := set $defaults "metrics_generator" $limits -}}
{{- $_ := set $cfg.overrides "defaults" $defaults -}}
{{- $genDns := printf "%s.%s.svc.%s:9095" (include "strata.metricsGeneratorHeadless" .) .Release.Namespace $v.clusterDomain -}}
{{- $_ := set $cfg "metrics_generator" (dict
  "ring" (dict "replication_factor" 1 "dns" $genDns "dns_refresh" $v.ring.dns_refresh "heartbeat_period" $v.ring.heartbeat_period)
  "storage" (dict "remote_write" $mg.remoteWrite)) -}}
{{- end -}}
{{- toYaml (mergeOverwrite $cfg (deepCopy $v.config)) -}}
{{- end -}}

{{/* Pod-level settings shared by every role; call with (dict "ctx" $ "role" .Values.<role>). */}}
{{- define "strata.podCommon" -}}
serviceAccountName: {{ include "strata.serviceAccountName" .ctx }}
{{- with .ctx.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .ctx.Values.podSecurityContext | nindent 2 }}
terminationGracePeriodSeconds: {{ .role.terminationGracePeriodSeconds }}
{{- with .role.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .role.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .role.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
The Strata container; call with (dict "ctx" $ "role" .Values.<role> "binary" "strata-ingester"
"ports" (list ...) "mounts" (list ...)). Readiness on /ready; liveness on the HTTP port only, so a
WAL replay (not ready yet) never gets the pod restarted.
*/}}
{{- define "strata.container" -}}
- name: {{ .name }}
  image: {{ include "strata.image" .ctx }}
  imagePullPolicy: {{ .ctx.Values.image.pullPolicy }}
  command: ["/usr/local/bin/{{ .binary }}"]
  # --config.expand-env fills ${POD_IP} (and any ${VAR} from extraEnv) into the config file.
  args: ["--config=/conf/strata.yaml", "--config.expand-env"]
  ports:
    - name: http
      containerPort: 3200
      protocol: TCP
    {{- range .ports }}
    - name: {{ .name }}
      containerPort: {{ .port }}
      protocol: {{ .protocol | default "TCP" }}
    {{- end }}
  env:
    - name: POD_IP
      valueFrom:
        fieldRef:
          fieldPath: status.podIP
    {{- with .ctx.Values.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .ctx.Values.extraEnvFrom }}
  envFrom:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  readinessProbe:
    httpGet:
      path: /ready
      port: http
    initialDelaySeconds: 5
    periodSeconds: 10
    timeoutSeconds: 2
    failureThreshold: 3
  livenessProbe:
    tcpSocket:
      port: http
    initialDelaySeconds: 30
    periodSeconds: 20
    timeoutSeconds: 2
    failureThreshold: 6
  resources:
    {{- toYaml .role.resources | nindent 4 }}
  securityContext:
    {{- toYaml .ctx.Values.securityContext | nindent 4 }}
  volumeMounts:
    - name: config
      mountPath: /conf
      readOnly: true
    - name: data
      mountPath: /var/strata/data
    {{- range .mounts }}
    - name: {{ .name }}
      mountPath: {{ .path }}
    {{- end }}
{{- end -}}

{{/* Volumes every pod has: the ConfigMap and a scratch data directory. */}}
{{- define "strata.volumes" -}}
- name: config
  configMap:
    name: {{ include "strata.fullname" . }}-config
- name: data
  emptyDir: {}
{{- end -}}

{{/* Pod annotations: roll pods when the configuration changes; let Prometheus find /metrics. */}}
{{- define "strata.podAnnotations" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
prometheus.io/scrape: "true"
prometheus.io/port: "3200"
prometheus.io/path: /metrics
{{- end -}}
