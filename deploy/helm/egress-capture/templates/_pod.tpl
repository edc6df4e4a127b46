{{/*
The capture pod, shared by the Deployment (one replica) and the StatefulSet (replicated: the
data volume then comes from the StatefulSet's claim template, one spool per pod). Indented for
its place under spec.template.
*/}}
{{- define "egress-capture.podTemplate" }}
    metadata:
      labels:
        {{- include "egress-capture.selectorLabels" . | nindent 8 }}
      {{- with .Values.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      # The service never talks to the Kubernetes API: no token in the pod.
      automountServiceAccountToken: false
      {{- with .Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.priorityClassName }}
      priorityClassName: {{ . }}
      {{- end }}
      {{- with .Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      # The service drains open ext_proc streams for up to 15 s, then flushes buffered rows;
      # 60 s leaves room for the flush before the kubelet kills the process.
      terminationGracePeriodSeconds: 60
      securityContext:
        runAsNonRoot: true
        runAsUser: 1000
        runAsGroup: 1000
        fsGroup: 1000
        seccompProfile:
          type: RuntimeDefault
      containers:
      - name: egress-capture
        image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
        imagePullPolicy: {{ .Values.image.pullPolicy }}
        args:
        - serve
        {{- if include "egress-capture.replicated" . }}
        # Several replicas need the remote store: an empty URL stops the pod with a message
        # (exit 2) instead of starting an embedded store in each pod's spool volume.
        - --clickhouse-url=$(EGRESS_CAPTURE_CLICKHOUSE_URL)
        {{- end }}
        {{- if .Values.certificateMinter.enabled }}
        - --ca-dir={{ .Values.certificateMinter.caDir }}
        - --sds-listen=0.0.0.0:9443
        {{- end }}
        {{- with .Values.tls.grpc.secretName }}
        - --grpc-tls-cert-file=/etc/egress-capture/tls/grpc/tls.crt
        - --grpc-tls-key-file=/etc/egress-capture/tls/grpc/tls.key
        {{- if $.Values.tls.grpc.requireClientCertificate }}
        - --grpc-tls-client-ca-file=/etc/egress-capture/tls/grpc/ca.crt
        {{- end }}
        {{- end }}
        {{- with .Values.tls.admin.secretName }}
        - --admin-tls-cert-file=/etc/egress-capture/tls/admin/tls.crt
        - --admin-tls-key-file=/etc/egress-capture/tls/admin/tls.key
        {{- end }}
        {{- if .Values.capturePolicy }}
        - --capture-policy=/etc/egress-capture/policy/capture-policy.yaml
        {{- end }}
        ports:
        - name: grpc
          containerPort: 9002
        - name: admin
          containerPort: 9003
        {{- if .Values.certificateMinter.enabled }}
        - name: sds
          containerPort: 9443
        {{- end }}
        envFrom:
        - configMapRef:
            name: {{ include "egress-capture.fullname" . }}-config
        # OTLP headers; `translate` writes this Secret when the gateway has spec.otlp.headers.
        - secretRef:
            name: {{ include "egress-capture.otlpSecretName" . }}
            optional: true
        # Admin credentials: the admin port listens beyond loopback for the probes, so its
        # data paths answer only with these.
        - secretRef:
            name: {{ include "egress-capture.adminSecretName" . }}
            optional: true
        # Who this pod is, for the OTLP resource (k8s.pod.name, k8s.namespace.name, k8s.pod.uid).
        env:
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        - name: POD_NAMESPACE
          valueFrom:
            fieldRef:
              fieldPath: metadata.namespace
        - name: POD_UID
          valueFrom:
            fieldRef:
              fieldPath: metadata.uid
        {{- if eq .Values.store.mode "remote" }}
        - name: EGRESS_CAPTURE_CLICKHOUSE_URL
          valueFrom:
            secretKeyRef:
              name: {{ .Values.store.remote.existingSecret }}
              key: {{ .Values.store.remote.urlKey }}
        {{- end }}
        readinessProbe:
          httpGet:
            path: /readyz
            port: admin
            {{- if .Values.tls.admin.secretName }}
            scheme: HTTPS
            {{- end }}
          periodSeconds: 5
          failureThreshold: 3
        livenessProbe:
          httpGet:
            path: /healthz
            port: admin
            {{- if .Values.tls.admin.secretName }}
            scheme: HTTPS
            {{- end }}
          initialDelaySeconds: 10
          periodSeconds: 10
          failureThreshold: 6
        {{- with .Values.resources }}
        resources:
          {{- toYaml . | nindent 10 }}
        {{- end }}
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities:
            drop: [ALL]
        volumeMounts:
        - name: data
          mountPath: /var/lib/egress-capture
        - name: gateway
          mountPath: /etc/egress-capture/gateway
          readOnly: true
        - name: tmp
          mountPath: /tmp
        {{- if .Values.capturePolicy }}
        - name: capture-policy
          mountPath: /etc/egress-capture/policy
          readOnly: true
        {{- end }}
        {{- if and (eq .Values.store.mode "remote") .Values.store.remote.caKey }}
        - name: clickhouse-ca
          mountPath: /etc/egress-capture/clickhouse
          readOnly: true
        {{- end }}
        {{- if .Values.tls.grpc.secretName }}
        - name: tls-grpc
          mountPath: /etc/egress-capture/tls/grpc
          readOnly: true
        {{- end }}
        {{- if .Values.tls.admin.secretName }}
        - name: tls-admin
          mountPath: /etc/egress-capture/tls/admin
          readOnly: true
        {{- end }}
        {{- if .Values.certificateMinter.enabled }}
        {{- range .Values.certificateMinter.caSecrets }}
        - name: ca-{{ .namespace }}-{{ .name }}
          mountPath: {{ $.Values.certificateMinter.caDir }}/{{ .namespace }}/{{ .name }}
          readOnly: true
        {{- end }}
        {{- end }}
      volumes:
      {{- if not (include "egress-capture.replicated" .) }}
      - name: data
        {{- if .Values.persistence.enabled }}
        persistentVolumeClaim:
          claimName: {{ .Values.persistence.existingClaim | default (printf "%s-data" (include "egress-capture.fullname" .)) }}
        {{- else }}
        # Remote store without persistence: the spool does not survive a restart.
        emptyDir: {}
        {{- end }}
      {{- else if not .Values.persistence.enabled }}
      # Replicas without persistence: a pod's spool does not survive its restart.
      - name: data
        emptyDir: {}
      {{- end }}
      - name: gateway
        # Written by `egress-capture translate` (EgressGateway without its OTLP headers).
        configMap:
          name: {{ include "egress-capture.gatewayConfigMapName" . }}
          optional: true
      - name: tmp
        emptyDir: {}
      {{- if .Values.capturePolicy }}
      - name: capture-policy
        # A directory mount (not subPath), so the kubelet's updates reach the running service.
        configMap:
          name: {{ include "egress-capture.fullname" . }}-capture-policy
      {{- end }}
      {{- if and (eq .Values.store.mode "remote") .Values.store.remote.caKey }}
      - name: clickhouse-ca
        secret:
          secretName: {{ .Values.store.remote.existingSecret }}
          items:
          - key: {{ .Values.store.remote.caKey }}
            path: ca.crt
      {{- end }}
      {{- with .Values.tls.grpc.secretName }}
      # The whole Secret (no subPath): a renewed certificate reaches the pod.
      - name: tls-grpc
        secret:
          secretName: {{ . }}
      {{- end }}
      {{- with .Values.tls.admin.secretName }}
      - name: tls-admin
        secret:
          secretName: {{ . }}
      {{- end }}
      {{- if .Values.certificateMinter.enabled }}
      {{- range .Values.certificateMinter.caSecrets }}
      - name: ca-{{ .namespace }}-{{ .name }}
        secret:
          secretName: {{ .secretName | default .name }}
          items:
          - key: tls.crt
            path: tls.crt
          - key: tls.key
            path: tls.key
      {{- end }}
      {{- end }}
{{- end -}}
