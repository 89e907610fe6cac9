{{/* buylist.name: the chart name, or nameOverride. */}}
{{- define "buylist.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* buylist.fullname: the prefix of every resource name (the release name when it already contains the chart name). */}}
{{- define "buylist.fullname" -}}
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

{{/* buylist.componentName: <fullname>-<component>, the name of every object of one component. */}}
{{- define "buylist.componentName" -}}
{{- printf "%s-%s" (include "buylist.fullname" .context) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* buylist.chart: chart name and version for the helm.sh/chart label. */}}
{{- define "buylist.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* buylist.selectorLabels: name + instance + component, the only labels a selector uses. */}}
{{- define "buylist.selectorLabels" -}}
app.kubernetes.io/name: {{ include "buylist.name" .context }}
app.kubernetes.io/instance: {{ .context.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* buylist.labels: the app.kubernetes.io/* set for an object of one component. */}}
{{- define "buylist.labels" -}}
helm.sh/chart: {{ include "buylist.chart" .context }}
{{ include "buylist.selectorLabels" . }}
app.kubernetes.io/version: {{ .context.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: buylist
app.kubernetes.io/managed-by: {{ .context.Release.Service }}
{{- end }}

{{/* buylist.appPodSelector: matches every pod of this release's own templates (never a subchart's pods). */}}
{{- define "buylist.appPodSelector" -}}
app.kubernetes.io/name: {{ include "buylist.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* buylist.image: registry/repository:tag, or repository@digest when a digest is pinned; takes (dict "context" $ "image" .Values.image.backend); an image with a registry of its own (locust.image) uses it instead of image.registry. */}}
{{- define "buylist.image" -}}
{{- $registry := .context.Values.image.registry }}
{{- if hasKey .image "registry" }}
{{- $registry = .image.registry }}
{{- end }}
{{- $repository := required "the image's repository is required" .image.repository }}
{{- $ref := $repository }}
{{- if $registry }}
{{- $ref = printf "%s/%s" (trimSuffix "/" $registry) $repository }}
{{- end }}
{{- if .image.digest }}
{{- printf "%s@%s" $ref .image.digest }}
{{- else }}
{{- printf "%s:%s" $ref (default .context.Chart.AppVersion .image.tag | toString) }}
{{- end }}
{{- end }}

{{/* buylist.serviceAccountName: the ServiceAccount a component's pods run as; takes (dict "context" $ "component" name "values" componentValues). */}}
{{- define "buylist.serviceAccountName" -}}
{{- if .values.serviceAccount.create }}
{{- default (include "buylist.componentName" .) .values.serviceAccount.name }}
{{- else }}
{{- default "default" .values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* buylist.podScheduling: nodeSelector, affinity, tolerations and spread constraints of a component, passed through. */}}
{{- define "buylist.podScheduling" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* buylist.kafka.fullname: the Bitnami kafka subchart's fullname (common.names.fullname). */}}
{{- define "buylist.kafka.fullname" -}}
{{- if .Values.kafka.fullnameOverride }}
{{- .Values.kafka.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default "kafka" .Values.kafka.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* buylist.mongodb.fullname: the Bitnami mongodb subchart's fullname (common.names.fullname). */}}
{{- define "buylist.mongodb.fullname" -}}
{{- if .Values.mongodb.fullnameOverride }}
{{- .Values.mongodb.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default "mongodb" .Values.mongodb.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* buylist.kafka.bootstrap: the bootstrap list the services, the topic Job and KEDA connect to. */}}
{{- define "buylist.kafka.bootstrap" -}}
{{- if .Values.kafka.enabled }}
{{- printf "%s.%s.svc.%s:%d" (include "buylist.kafka.fullname" .) .Release.Namespace .Values.clusterDomain (int .Values.kafka.service.ports.client) }}
{{- else }}
{{- required "externalKafka.bootstrap is required when kafka.enabled=false" .Values.externalKafka.bootstrap }}
{{- end }}
{{- end }}

{{/* buylist.kafka.securityProtocol: PLAINTEXT, SASL_PLAINTEXT, SASL_SSL or SSL on the client listener. */}}
{{- define "buylist.kafka.securityProtocol" -}}
{{- if .Values.kafka.enabled }}
{{- .Values.kafka.listeners.client.protocol | upper }}
{{- else }}
{{- .Values.externalKafka.securityProtocol | upper }}
{{- end }}
{{- end }}

{{/* buylist.kafka.saslEnabled: "true" when the client listener authenticates with SASL. */}}
{{- define "buylist.kafka.saslEnabled" -}}
{{- if hasPrefix "SASL_" (include "buylist.kafka.securityProtocol" .) }}true{{ end }}
{{- end }}

{{/* buylist.kafka.saslMechanism: PLAIN or SCRAM-SHA-256/512 (the first mechanism the Bitnami broker enables). */}}
{{- define "buylist.kafka.saslMechanism" -}}
{{- if .Values.kafka.enabled }}
{{- splitList "," .Values.kafka.sasl.enabledMechanisms | first | trim | upper }}
{{- else }}
{{- .Values.externalKafka.saslMechanism | upper }}
{{- end }}
{{- end }}

{{/* buylist.kafka.kedaSasl: the KEDA kafka scaler's name for the SASL mechanism. */}}
{{- define "buylist.kafka.kedaSasl" -}}
{{- $mechanism := include "buylist.kafka.saslMechanism" . }}
{{- $map := dict "PLAIN" "plaintext" "SCRAM-SHA-256" "scram_sha256" "SCRAM-SHA-512" "scram_sha512" }}
{{- if not (hasKey $map $mechanism) }}
{{- fail (printf "Kafka SASL mechanism %q is not supported by the services and KEDA; use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512" $mechanism) }}
{{- end }}
{{- get $map $mechanism }}
{{- end }}

{{/* buylist.kafka.username: the SASL user of the services (Bitnami's first client user, or externalKafka.username). */}}
{{- define "buylist.kafka.username" -}}
{{- if .Values.kafka.enabled }}
{{- first .Values.kafka.sasl.client.users }}
{{- else }}
{{- required "externalKafka.username is required when the external Kafka uses SASL" .Values.externalKafka.username }}
{{- end }}
{{- end }}

{{/* buylist.kafka.passwordSecretName: the Secret holding the SASL password (Bitnami's user-passwords Secret, or externalKafka.existingSecret). */}}
{{- define "buylist.kafka.passwordSecretName" -}}
{{- if .Values.kafka.enabled }}
{{- if .Values.kafka.sasl.existingSecret }}
{{- tpl .Values.kafka.sasl.existingSecret . }}
{{- else }}
{{- printf "%s-user-passwords" (include "buylist.kafka.fullname" .) }}
{{- end }}
{{- else }}
{{- required "externalKafka.existingSecret is required when the external Kafka uses SASL" .Values.externalKafka.existingSecret }}
{{- end }}
{{- end }}

{{/* buylist.kafka.passwordSecretKey: the key of the SASL password in that Secret. */}}
{{- define "buylist.kafka.passwordSecretKey" -}}
{{- if .Values.kafka.enabled }}client-passwords{{ else }}{{ .Values.externalKafka.passwordKey }}{{ end }}
{{- end }}

{{/* buylist.kafka.clientSecretName: the chart's own Secret with the SASL username and KEDA's mechanism name. */}}
{{- define "buylist.kafka.clientSecretName" -}}
{{- printf "%s-kafka-client" (include "buylist.fullname" .) }}
{{- end }}

{{/* buylist.kafka.env: BUYLIST_KAFKA_* variables shared by customer-facing, the worker and the topic Job. */}}
{{- define "buylist.kafka.env" -}}
- name: BUYLIST_KAFKA_BOOTSTRAP
  value: {{ include "buylist.kafka.bootstrap" . | quote }}
- name: BUYLIST_KAFKA_SECURITY_PROTOCOL
  value: {{ include "buylist.kafka.securityProtocol" . | quote }}
{{- if include "buylist.kafka.saslEnabled" . }}
- name: BUYLIST_KAFKA_SASL_MECHANISM
  value: {{ include "buylist.kafka.saslMechanism" . | quote }}
- name: BUYLIST_KAFKA_SASL_USERNAME
  value: {{ include "buylist.kafka.username" . | quote }}
- name: BUYLIST_KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "buylist.kafka.passwordSecretName" . }}
      key: {{ include "buylist.kafka.passwordSecretKey" . }}
{{- end }}
{{- end }}

{{/* buylist.mongodb.secretName: the Secret whose key buylist.mongodb.uriKey holds the services' mongodb:// URI. */}}
{{- define "buylist.mongodb.secretName" -}}
{{- if .Values.mongodb.enabled }}
{{- tpl (required "mongodb.auth.existingSecret names the credentials Secret this chart creates" .Values.mongodb.auth.existingSecret) . }}
{{- else }}
{{- required "externalMongodb.existingSecret is required when mongodb.enabled=false" .Values.externalMongodb.existingSecret }}
{{- end }}
{{- end }}

{{/* buylist.mongodb.uriKey: the key of the mongodb:// URI in that Secret. */}}
{{- define "buylist.mongodb.uriKey" -}}
{{- if .Values.mongodb.enabled }}mongodb-uri{{ else }}{{ .Values.externalMongodb.uriKey }}{{ end }}
{{- end }}

{{/* buylist.mongodb.database: the database holding the purchases collection. */}}
{{- define "buylist.mongodb.database" -}}
{{- if .Values.mongodb.enabled }}{{ first .Values.mongodb.auth.databases }}{{ else }}{{ .Values.externalMongodb.database }}{{ end }}
{{- end }}

{{/* buylist.mongodb.hosts: host:port list of the in-release MongoDB (every member when it is a replica set). */}}
{{- define "buylist.mongodb.hosts" -}}
{{- $fullname := include "buylist.mongodb.fullname" . }}
{{- $suffix := printf "%s.svc.%s:27017" .Release.Namespace .Values.clusterDomain }}
{{- if eq .Values.mongodb.architecture "replicaset" }}
{{- $hosts := list }}
{{- range $i := until (int .Values.mongodb.replicaCount) }}
{{- $hosts = append $hosts (printf "%s-%d.%s-headless.%s" $fullname $i $fullname $suffix) }}
{{- end }}
{{- join "," $hosts }}
{{- else }}
{{- printf "%s.%s" $fullname $suffix }}
{{- end }}
{{- end }}

{{/* buylist.mongodb.env: BUYLIST_MONGODB_* variables of all three services (customer-facing: Idempotency-Key records). */}}
{{- define "buylist.mongodb.env" -}}
- name: BUYLIST_MONGODB_URI
  valueFrom:
    secretKeyRef:
      name: {{ include "buylist.mongodb.secretName" . }}
      key: {{ include "buylist.mongodb.uriKey" . }}
{{- end }}

{{/* buylist.secretValue: a Secret's existing value (base64) so generated passwords survive upgrades, else the provided or a new random one; takes (dict "context" $ "secret" name "key" key "value" provided). */}}
{{- define "buylist.secretValue" -}}
{{- $existing := lookup "v1" "Secret" .context.Release.Namespace .secret }}
{{- if .value }}
{{- .value | b64enc }}
{{- else if and $existing $existing.data (hasKey $existing.data .key) }}
{{- index $existing.data .key }}
{{- else }}
{{- randAlphaNum 24 | b64enc }}
{{- end }}
{{- end }}

{{/* buylist.workerMaxConsumers: the most consumers the worker can run (KEDA's maxReplicaCount, or the fixed replica count). */}}
{{- define "buylist.workerMaxConsumers" -}}
{{- if .Values.customerManagementWorker.autoscaling.enabled }}
{{- .Values.customerManagementWorker.autoscaling.maxReplicaCount }}
{{- else }}
{{- .Values.customerManagementWorker.replicaCount }}
{{- end }}
{{- end }}

{{/* buylist.validate: refuse values that would deploy something broken, with a message naming the value. */}}
{{- define "buylist.validate" -}}
{{- $worker := .Values.customerManagementWorker }}
{{- $partitions := int .Values.topics.purchases.partitions }}
{{- $consumers := int (include "buylist.workerMaxConsumers" .) }}
{{- if gt $consumers $partitions }}
{{- if $worker.autoscaling.enabled }}
{{- fail (printf "customerManagementWorker.autoscaling.maxReplicaCount (%d) is greater than topics.purchases.partitions (%d): a consumer group never has more active members than partitions, so KEDA could only add idle workers. Lower maxReplicaCount or raise the partition count." $consumers $partitions) }}
{{- else }}
{{- fail (printf "customerManagementWorker.replicaCount (%d) is greater than topics.purchases.partitions (%d): the extra workers would sit idle. Lower replicaCount or raise the partition count." $consumers $partitions) }}
{{- end }}
{{- end }}
{{- if and $worker.autoscaling.enabled (gt (int $worker.autoscaling.minReplicaCount) (int $worker.autoscaling.maxReplicaCount)) }}
{{- fail "customerManagementWorker.autoscaling.minReplicaCount must not exceed maxReplicaCount" }}
{{- end }}
{{- range $key := list "customerFacing" "customerManagementApi" "userBuyFrontend" }}
{{- $autoscaling := (index $.Values $key).autoscaling }}
{{- if and $autoscaling.enabled (gt (int $autoscaling.minReplicas) (int $autoscaling.maxReplicas)) }}
{{- fail (printf "%s.autoscaling.minReplicas must not exceed maxReplicas" $key) }}
{{- end }}
{{- end }}
{{- if and .Values.kafka.enabled (ne (len .Values.kafka.sasl.client.users) 1) }}
{{- fail "kafka.sasl.client.users must list exactly one user: the services read its password from Bitnami's client-passwords key" }}
{{- end }}
{{- if and .Values.mongodb.enabled (not .Values.mongodb.auth.enabled) }}
{{- fail "mongodb.auth.enabled=false is refused: the services only connect with credentials (point externalMongodb at an open server if you must)" }}
{{- end }}
{{- if and .Values.mongodb.enabled (or (ne (len .Values.mongodb.auth.usernames) 1) (ne (len .Values.mongodb.auth.databases) 1)) }}
{{- fail "mongodb.auth.usernames and mongodb.auth.databases must each list exactly one entry: the services' user and database" }}
{{- end }}
{{- if gt (int .Values.topics.purchases.minInsyncReplicas) (int .Values.topics.purchases.replicationFactor) }}
{{- fail "topics.purchases.minInsyncReplicas must not exceed topics.purchases.replicationFactor, or no write with acks=all ever succeeds" }}
{{- end }}
{{- end }}

{{/* buylist.netpol.dnsEgress: an egress rule to the cluster DNS on port 53. */}}
{{- define "buylist.netpol.dnsEgress" -}}
- to:
    - namespaceSelector:
        {{- toYaml .Values.networkPolicy.dnsNamespaceSelector | nindent 8 }}
      {{- with .Values.networkPolicy.dnsPodSelector }}
      podSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
  ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
{{- end }}

{{/* buylist.netpol.kafkaEgress: an egress rule to the Kafka brokers (the in-release pods, or externalKafka's addresses). */}}
{{- define "buylist.netpol.kafkaEgress" -}}
{{- if .Values.kafka.enabled }}
- to:
    - podSelector:
        matchLabels:
          app.kubernetes.io/name: {{ default "kafka" .Values.kafka.nameOverride }}
          app.kubernetes.io/instance: {{ .Release.Name }}
  ports:
    - port: {{ .Values.kafka.service.ports.client }}
      protocol: TCP
{{- else }}
- ports:
    {{- range .Values.externalKafka.ports }}
    - port: {{ . }}
      protocol: TCP
    {{- end }}
  {{- with .Values.networkPolicy.externalKafkaTo }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end }}

{{/* buylist.netpol.mongodbEgress: an egress rule to MongoDB (the in-release pods, or externalMongodb's addresses). */}}
{{- define "buylist.netpol.mongodbEgress" -}}
{{- if .Values.mongodb.enabled }}
- to:
    - podSelector:
        matchLabels:
          app.kubernetes.io/name: {{ default "mongodb" .Values.mongodb.nameOverride }}
          app.kubernetes.io/instance: {{ .Release.Name }}
  ports:
    - port: 27017
      protocol: TCP
{{- else }}
- ports:
    {{- range .Values.externalMongodb.ports }}
    - port: {{ . }}
      protocol: TCP
    {{- end }}
  {{- with .Values.networkPolicy.externalMongodbTo }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end }}

{{/* buylist.netpol.componentEgress: an egress rule to one of the chart's own components; takes (dict "context" $ "component" name "port" port). */}}
{{- define "buylist.netpol.componentEgress" -}}
- to:
    - podSelector:
        matchLabels:
          {{- include "buylist.selectorLabels" . | nindent 10 }}
  ports:
    - port: {{ .port }}
      protocol: TCP
{{- end }}

{{/* buylist.netpol.metricsFrom: the peers allowed to scrape /metrics (networkPolicy.metricsFrom, the in-release Prometheus server, or any pod). */}}
{{- define "buylist.netpol.metricsFrom" -}}
{{- if .Values.networkPolicy.metricsFrom }}
{{- toYaml .Values.networkPolicy.metricsFrom }}
{{- else if .Values.prometheus.enabled }}
- podSelector:
    matchLabels:
      app.kubernetes.io/name: prometheus
      app.kubernetes.io/component: server
      app.kubernetes.io/instance: {{ .Release.Name }}
{{- else }}
- namespaceSelector: {}
{{- end }}
{{- end }}

{{/* buylist.locust.basePath: the web UI's --web-base-path, set only when the Ingress serves it under locust.ingress.path. */}}
{{- define "buylist.locust.basePath" -}}
{{- if .Values.locust.ingress.enabled }}{{ .Values.locust.ingress.path }}{{ end }}
{{- end }}

{{/* buylist.locust.targetPort: the container port of the component the workers load (what their NetworkPolicy egress allows). */}}
{{- define "buylist.locust.targetPort" -}}
{{- if eq .Values.locust.target "user-buy-frontend" }}{{ .Values.userBuyFrontend.port }}{{ else }}{{ .Values.customerFacing.port }}{{ end }}
{{- end }}

{{/* buylist.locust.host: BUYLIST_LOAD_HOST, locust.host or the target component's Service (the frontend's /api proxy). */}}
{{- define "buylist.locust.host" -}}
{{- if .Values.locust.host }}
{{- .Values.locust.host }}
{{- else if eq .Values.locust.target "user-buy-frontend" }}
{{- printf "http://%s:%v/api" (include "buylist.componentName" (dict "context" . "component" "user-buy-frontend")) .Values.userBuyFrontend.service.port }}
{{- else }}
{{- printf "http://%s:%v" (include "buylist.componentName" (dict "context" . "component" "customer-facing")) .Values.customerFacing.service.port }}
{{- end }}
{{- end }}

{{/* buylist.locust.workerPeer: a NetworkPolicy peer matching the Locust workers, for the target component's ingress. */}}
{{- define "buylist.locust.workerPeer" -}}
- podSelector:
    matchLabels:
      {{- include "buylist.selectorLabels" (dict "context" . "component" "locust-worker") | nindent 6 }}
{{- end }}
