{{/*
Rules for namespaced objects: SecretSyncs, their Secrets, the workloads they roll, Events.
Granted cluster-wide (scope=cluster) or per namespace in rbac.namespaces (scope=namespaced).
*/}}
{{- define "strata-operator.namespacedRules" -}}
- apiGroups: ["strata.dev"]
  resources: ["secretsyncs"]
  # update/patch only to add and remove the operator's finalizer (creationPolicy Merge with
  # deletionPolicy Delete removes its keys from a Secret it does not own).
  verbs: ["get", "list", "watch", "update", "patch"]
- apiGroups: ["strata.dev"]
  resources: ["secretsyncs/status"]
  verbs: ["get", "update", "patch"]
- apiGroups: ["strata.dev"]
  # Setting an ownerReference with blockOwnerDeletion on a Secret needs this where the
  # OwnerReferencesPermissionEnforcement admission plugin is on.
  resources: ["secretsyncs/finalizers"]
  verbs: ["update"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: ["apps"]
  resources: ["deployments", "statefulsets", "daemonsets"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}
{{- /* Rules for cluster-scoped objects, needed in both modes. */}}
{{- define "strata-operator.clusterRules" -}}
- apiGroups: ["strata.dev"]
  resources: ["sourcepolicies"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["strata.dev"]
  resources: ["sourcepolicies/status"]
  verbs: ["get", "update", "patch"]
- apiGroups: [""]
  # SourcePolicy namespace selectors match on Namespace labels.
  resources: ["namespaces"]
  verbs: ["get", "list", "watch"]
{{- end }}
