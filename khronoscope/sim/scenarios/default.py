"""The default scenario: a small shop's cluster and an incident a user can find.

Timeline (seconds at speed 1; each step has its Events, logs and metrics):
- 0-10   nodes, namespaces (`shop`, `payments`, `kube-system`, ...), config, RBAC, a CRD
         (`demo.khronoscope.io/v1 Widget`) and workloads start: deployments `web`, `api`,
         `checkout`, `payments-api`, `ledger`, `coredns`, `metrics-server`; statefulset
         `redis`; daemonset `kube-proxy`; pods go Pending -> ContainerCreating -> Running.
- 45     someone edits ConfigMap `shop/api-config` (FEATURE_NEW_PRICING=true, DB_POOL_SIZE 5).
- 60     `api` is rolled out with image `api:v2.1.0-rc1`: the new pod crashes on the edited
         config and ends in CrashLoopBackOff; `checkout` logs upstream errors, CPU spikes.
- 95     the HPA scales `checkout` from 2 to 4 replicas.
- 110    node `worker-3` goes NotReady (its pods turn unready); back Ready at 150.
- 140    `api` is rolled back to `api:v2.0.3` (revision 3); the bad pod terminates.
- 175    load is back to normal.
- then   light background activity forever: the `report` CronJob runs a Job every minute,
         widgets change, node heartbeats and lease renewals (every 10 s), logs and metrics;
         at 480 the HPA scales back to 2;
         events expire an hour after they were last seen, as with the apiserver's event TTL.
"""

from __future__ import annotations

import base64
from typing import Any

from khronoscope.sim.scenarios import objects as o
from khronoscope.sim.scenarios.base import NOW, Create, Delete, Patch, Scenario, Script
from khronoscope.sim.scenarios.models import AppProfile, PodModel
from khronoscope.sim.scenarios.world import World

INCIDENT = {
    "configmap_edit": 45.0,
    "bad_rollout": 60.0,
    "hpa_scale_up": 95.0,
    "node_not_ready": 110.0,
    "rollback": 140.0,
    "node_ready": 150.0,
    "recovered": 175.0,
    "hpa_scale_down": 480.0,
}
BAD_IMAGE = "registry.example.com/shop/api:v2.1.0-rc1"
GOOD_IMAGE = "registry.example.com/shop/api:v2.0.3"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class DefaultScenario(Scenario):
    """A shop's cluster with a bad rollout, a node outage and an HPA scale-up (see module doc)."""

    name = "default"
    summary = (
        "a shop's cluster: config edit, bad rollout -> CrashLoopBackOff -> rollback, "
        "node NotReady, HPA"
    )

    def build(self, script: Script) -> None:
        """Schedule the whole story."""
        w = World(script)
        self.w = w
        script.at(0.0, self._bootstrap, w)
        script.at(1.0, self._workloads, w)
        script.at(INCIDENT["configmap_edit"], self._edit_config, w)
        script.at(INCIDENT["bad_rollout"], self._bad_rollout, w)
        script.at(INCIDENT["hpa_scale_up"], self._hpa_up, w)
        script.at(INCIDENT["node_not_ready"], w.set_node_ready, "worker-3", False)
        script.at(INCIDENT["rollback"], self._rollback, w)
        script.at(INCIDENT["node_ready"], w.set_node_ready, "worker-3", True)
        script.at(INCIDENT["recovered"], self._recovered, w)
        script.at(INCIDENT["hpa_scale_down"], self._hpa_down, w)
        script.every(15.0, w.kubelet.sample_metrics, start=5.0)
        script.every(60.0, w.events.expire, start=3630.0)
        script.every(60.0, self._cron, start=60.0)
        script.every(45.0, self._widget_change, start=20.0, jitter=5.0)
        for i, node in enumerate(("control-plane-1", "worker-1", "worker-2", "worker-3")):
            script.every(60.0, lambda n=node: w.nodes.heartbeat(n), start=40.0 + i * 7)
            script.every(10.0, lambda n=node: w.nodes.renew_lease(n), start=10.0 + i * 2.5)

    # ---- t=0 ------------------------------------------------------------------------------

    def _bootstrap(self, w: World) -> None:
        e = w.emit
        for ns in (
            "default",
            "kube-system",
            "kube-public",
            "kube-node-lease",
            "shop",
            "payments",
            "monitoring",
        ):
            labels = {"team": ns} if ns in ("shop", "payments") else None
            e(Create("namespaces", o.namespace(ns, labels), manager="kubectl-create"))
        w.nodes.add("control-plane-1", "10.0.1.10", "eu-west-1a", role="control-plane")
        w.nodes.add("worker-1", "10.0.1.21", "eu-west-1a")
        w.nodes.add("worker-2", "10.0.2.22", "eu-west-1b")
        w.nodes.add("worker-3", "10.0.3.23", "eu-west-1c")
        e(
            Create(
                "customresourcedefinitions.apiextensions.k8s.io",
                o.crd_widgets(),
                manager="kubectl-create",
            )
        )
        for ns in (
            "default",
            "kube-system",
            "kube-public",
            "kube-node-lease",
            "shop",
            "payments",
            "monitoring",
        ):
            e(Create("serviceaccounts", o.service_account(ns, "default")))
            e(
                Create(
                    "configmaps",
                    o.configmap(
                        ns,
                        "kube-root-ca.crt",
                        {
                            "ca.crt": "-----BEGIN CERTIFICATE-----\n"
                            "MIIBsimulatedkhronoscopeCA\n"
                            "-----END CERTIFICATE-----\n"
                        },
                    ),
                )
            )
        e(
            Create(
                "configmaps",
                o.configmap(
                    "shop",
                    "api-config",
                    {
                        "DB_POOL_SIZE": "20",
                        "FEATURE_NEW_PRICING": "false",
                        "LOG_LEVEL": "info",
                        "PAYMENTS_URL": "http://payments-api.payments.svc:8080",
                    },
                    {"app": "api"},
                ),
                manager="kubectl-client-side-apply",
            )
        )
        e(
            Create(
                "configmaps",
                o.configmap(
                    "shop",
                    "web-nginx",
                    {
                        "nginx.conf": "server {\n  listen 8080;\n"
                        "  location / { proxy_pass http://api.shop.svc; }\n}\n"
                    },
                    {"app": "web"},
                ),
                manager="kubectl-client-side-apply",
            )
        )
        e(
            Create(
                "configmaps",
                o.configmap(
                    "shop",
                    "checkout-config",
                    {"RETRY_LIMIT": "3", "TIMEOUT_MS": "5000", "API_URL": "http://api.shop.svc"},
                    {"app": "checkout"},
                ),
                manager="kubectl-client-side-apply",
            )
        )
        e(
            Create(
                "configmaps",
                o.configmap(
                    "kube-system",
                    "coredns",
                    {
                        "Corefile": ".:53 {\n    errors\n    health\n"
                        "    kubernetes cluster.local in-addr.arpa ip6.arpa\n"
                        "    forward . /etc/resolv.conf\n    cache 30\n}\n"
                    },
                ),
            )
        )
        e(
            Create(
                "secrets",
                o.secret(
                    "shop",
                    "api-db-credentials",
                    {"username": _b64("shop"), "password": _b64("s3cr3t-db-passw0rd")},
                ),
                manager="kubectl-create",
            )
        )
        e(
            Create(
                "secrets",
                o.secret("payments", "stripe-api-key", {"key": _b64("sk_live_simulated_51H8xYz")}),
                manager="kubectl-create",
            )
        )
        e(
            Create(
                "secrets",
                o.secret(
                    "shop",
                    "registry-pull",
                    {".dockerconfigjson": _b64('{"auths":{}}')},
                    "kubernetes.io/dockerconfigjson",
                ),
                manager="kubectl-create",
            )
        )
        for ns in ("shop", "payments"):
            e(Create("serviceaccounts", o.service_account(ns, "app")))
            e(
                Create(
                    "roles.rbac.authorization.k8s.io",
                    o.role(
                        ns,
                        "app-reader",
                        [
                            {
                                "apiGroups": [""],
                                "resources": ["configmaps", "secrets"],
                                "verbs": ["get", "list", "watch"],
                            }
                        ],
                    ),
                )
            )
            e(
                Create(
                    "rolebindings.rbac.authorization.k8s.io",
                    o.role_binding(ns, "app-reader", "app-reader", "app"),
                )
            )
        e(
            Create(
                "clusterroles.rbac.authorization.k8s.io",
                o.cluster_role(
                    "view-pods",
                    [
                        {
                            "apiGroups": [""],
                            "resources": ["pods", "pods/log"],
                            "verbs": ["get", "list", "watch"],
                        }
                    ],
                ),
            )
        )
        e(
            Create(
                "clusterrolebindings.rbac.authorization.k8s.io",
                o.cluster_role_binding(
                    "monitoring-view-pods", "view-pods", "monitoring", "default"
                ),
            )
        )
        w.endpoints.add_service("shop", "web", {"app": "web"}, 80, 8080, "10.96.10.10")
        w.endpoints.add_service("shop", "api", {"app": "api"}, 80, 8080, "10.96.10.11")
        w.endpoints.add_service("shop", "checkout", {"app": "checkout"}, 80, 8080, "10.96.10.12")
        w.endpoints.add_service("shop", "redis", {"app": "redis"}, 6379, 6379, "10.96.10.13")
        w.endpoints.add_service(
            "payments", "payments-api", {"app": "payments-api"}, 8080, 8080, "10.96.20.10"
        )
        w.endpoints.add_service("kube-system", "kube-dns", {"app": "coredns"}, 53, 53, "10.96.0.10")
        e(
            Create(
                "ingresses.networking.k8s.io",
                o.ingress("shop", "shop", "shop.example.com", "web", 80),
                manager="kubectl-client-side-apply",
            )
        )
        e(
            Create(
                "persistentvolumes",
                o.pv("pvc-3f2a9c1e-redis", "8Gi", "shop", "data-redis-0"),
                manager="persistentvolume-controller",
            )
        )
        e(
            Create(
                "persistentvolumeclaims",
                o.pvc("shop", "data-redis-0", "8Gi", "pvc-3f2a9c1e-redis"),
                manager="kube-controller-manager",
            )
        )
        e(
            Create(
                "horizontalpodautoscalers.autoscaling",
                o.hpa("shop", "checkout", "Deployment", "checkout", 2, 6, 70),
                manager="kubectl-create",
            )
        )
        for name, color, size in (
            ("blue-widget", "blue", 3),
            ("red-widget", "red", 5),
            ("green-widget", "green", 1),
        ):
            e(
                Create(
                    "widgets.demo.khronoscope.io",
                    o.widget("shop", name, color, size),
                    manager="widget-operator",
                )
            )
        cron = {
            "kind": "CronJob",
            "apiVersion": "batch/v1",
            "metadata": o.meta(
                "report",
                "payments",
                {"app": "report"},
                uid=o.kind_uid("payments", "CronJob", "report"),
            ),
            "spec": {
                "schedule": "* * * * *",
                "concurrencyPolicy": "Forbid",
                "successfulJobsHistoryLimit": 3,
                "failedJobsHistoryLimit": 1,
                "suspend": False,
                "jobTemplate": {
                    "spec": {
                        "template": o.pod_template(
                            {"app": "report"},
                            [o.container("report", "registry.example.com/payments/report:1.4.0")],
                        )
                    }
                },
            },
            "status": {},
        }
        cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"
        e(Create("cronjobs.batch", cron, manager="kubectl-client-side-apply"))
        self._jobs: list[str] = []

    def _workloads(self, w: World) -> None:
        api_env = [
            {
                "name": "DB_PASSWORD",
                "valueFrom": {"secretKeyRef": {"name": "api-db-credentials", "key": "password"}},
            }
        ]
        w.deployments.add(
            "kube-system",
            "coredns",
            [o.container("coredns", "registry.k8s.io/coredns/coredns:v1.11.1", 53, "100m", "70Mi")],
            2,
            AppProfile("coredns", 4, 18, 4.0),
        )
        w.deployments.add(
            "kube-system",
            "metrics-server",
            [
                o.container(
                    "metrics-server",
                    "registry.k8s.io/metrics-server/metrics-server:v0.7.0",
                    4443,
                    "100m",
                    "200Mi",
                )
            ],
            1,
            AppProfile("generic", 6, 40, 20.0),
        )
        w.deployments.add(
            "shop",
            "web",
            [o.container("web", "nginx:1.25.4", 8080, "50m", "64Mi")],
            3,
            AppProfile("web", 12, 30, 2.0),
            8080,
            "web",
        )
        self.api = w.deployments.add(
            "shop",
            "api",
            [
                o.container(
                    "api", GOOD_IMAGE, 8080, "250m", "256Mi", env=api_env, env_from_cm="api-config"
                )
            ],
            2,
            AppProfile("api", 60, 180, 2.5),
            8080,
            "api",
        )
        self.checkout = w.deployments.add(
            "shop",
            "checkout",
            [
                o.container(
                    "checkout",
                    "registry.example.com/shop/checkout:3.2.1",
                    8080,
                    "200m",
                    "192Mi",
                    env_from_cm="checkout-config",
                )
            ],
            2,
            AppProfile("checkout", 90, 150, 3.0),
            8080,
            "checkout",
        )
        w.deployments.add(
            "payments",
            "payments-api",
            [
                o.container(
                    "payments-api", "registry.example.com/payments/api:5.0.2", 8080, "200m", "256Mi"
                )
            ],
            2,
            AppProfile("payments", 40, 160, 3.0),
            8080,
            "payments-api",
        )
        w.deployments.add(
            "payments",
            "ledger",
            [
                o.container(
                    "ledger", "registry.example.com/payments/ledger:2.7.0", 9090, "100m", "128Mi"
                )
            ],
            1,
            AppProfile("generic", 15, 90, 8.0),
        )
        # statefulset redis with one pod
        labels = {"app": "redis"}
        sts_tmpl = o.pod_template(
            labels, [o.container("redis", "redis:7.2.4", 6379, "100m", "256Mi")]
        )
        w.emit(
            Create(
                "statefulsets.apps",
                {
                    "kind": "StatefulSet",
                    "apiVersion": "apps/v1",
                    "metadata": o.meta(
                        "redis", "shop", labels, uid=o.kind_uid("shop", "StatefulSet", "redis")
                    ),
                    "spec": {
                        "replicas": 1,
                        "serviceName": "redis",
                        "selector": {"matchLabels": labels},
                        "template": sts_tmpl,
                        "volumeClaimTemplates": [
                            {
                                "metadata": {"name": "data"},
                                "spec": {
                                    "accessModes": ["ReadWriteOnce"],
                                    "resources": {"requests": {"storage": "8Gi"}},
                                },
                            }
                        ],
                    },
                    "status": {"replicas": 0},
                },
                manager="kubectl-client-side-apply",
            )
        )
        redis = PodModel(
            "shop",
            "redis-0",
            {**labels, "statefulset.kubernetes.io/pod-name": "redis-0"},
            dict(sts_tmpl["spec"]),
            AppProfile("redis", 8, 60, 12.0),
            owner_ref=o.owner("StatefulSet", "redis", "shop"),
        )
        w.kubelet.start_pod(redis)
        w.s.after(
            6.0,
            lambda: w.emit(
                Patch(
                    "statefulsets.apps",
                    "shop",
                    "redis",
                    {
                        "status": {
                            "replicas": 1,
                            "readyReplicas": 1,
                            "currentReplicas": 1,
                            "updatedReplicas": 1,
                            "availableReplicas": 1,
                            "observedGeneration": 1,
                        }
                    },
                )
            ),
        )
        # daemonset kube-proxy: one pod per node
        ds_labels = {"k8s-app": "kube-proxy"}
        ds_tmpl = o.pod_template(
            ds_labels,
            [o.container("kube-proxy", "registry.k8s.io/kube-proxy:v1.30.0", None, "10m", "32Mi")],
        )
        w.emit(
            Create(
                "daemonsets.apps",
                {
                    "kind": "DaemonSet",
                    "apiVersion": "apps/v1",
                    "metadata": o.meta(
                        "kube-proxy",
                        "kube-system",
                        ds_labels,
                        uid=o.kind_uid("kube-system", "DaemonSet", "kube-proxy"),
                    ),
                    "spec": {
                        "selector": {"matchLabels": ds_labels},
                        "template": ds_tmpl,
                        "updateStrategy": {"type": "RollingUpdate"},
                    },
                    "status": {
                        "desiredNumberScheduled": 4,
                        "currentNumberScheduled": 0,
                        "numberReady": 0,
                    },
                },
            )
        )
        for node in w.nodes.names():
            p = PodModel(
                "kube-system",
                f"kube-proxy-{o.short_hash(node, 5)}",
                dict(ds_labels),
                {**ds_tmpl["spec"], "nodeName": node},
                AppProfile("generic", 3, 20, 15.0),
                owner_ref=o.owner("DaemonSet", "kube-proxy", "kube-system"),
            )
            p.node = node
            w.kubelet.start_pod(p)
        w.s.after(
            7.0,
            lambda: w.emit(
                Patch(
                    "daemonsets.apps",
                    "kube-system",
                    "kube-proxy",
                    {
                        "status": {
                            "desiredNumberScheduled": 4,
                            "currentNumberScheduled": 4,
                            "numberReady": 4,
                            "updatedNumberScheduled": 4,
                            "numberAvailable": 4,
                            "observedGeneration": 1,
                        }
                    },
                )
            ),
        )

    # ---- the incident --------------------------------------------------------------------

    def _edit_config(self, w: World) -> None:
        w.emit(
            Patch(
                "configmaps",
                "shop",
                "api-config",
                {"data": {"FEATURE_NEW_PRICING": "true", "DB_POOL_SIZE": "5"}},
                manager="kubectl-edit",
            )
        )

    def _bad_rollout(self, w: World) -> None:
        w.deployments.rollout(
            self.api, BAD_IMAGE, "crash", cause="kubectl set image deployment/api api=" + BAD_IMAGE
        )
        w.traffic.load.update({"checkout": 1.8, "api": 1.6, "web": 1.3})
        w.traffic.error_rate.update({"checkout": 0.35, "api": 0.15, "web": 0.1})

    def _hpa_up(self, w: World) -> None:
        w.emit(
            Patch(
                "horizontalpodautoscalers.autoscaling",
                "shop",
                "checkout",
                {
                    "status": {
                        "currentReplicas": 2,
                        "desiredReplicas": 4,
                        "lastScaleTime": NOW,
                        "currentMetrics": [
                            {
                                "type": "Resource",
                                "resource": {
                                    "name": "cpu",
                                    "current": {"averageUtilization": 142, "averageValue": "285m"},
                                },
                            }
                        ],
                    }
                },
                manager="kube-controller-manager",
            )
        )
        w.events.record(
            "shop",
            "HorizontalPodAutoscaler",
            "checkout",
            "SuccessfulRescale",
            "New size: 4; reason: cpu resource utilization (percentage of request) above target",
            component="horizontal-pod-autoscaler",
            api_version="autoscaling/v2",
        )
        w.deployments.scale(self.checkout, 4, "kube-controller-manager")
        w.s.after(
            20.0,
            lambda: w.emit(
                Patch(
                    "horizontalpodautoscalers.autoscaling",
                    "shop",
                    "checkout",
                    {
                        "status": {
                            "currentReplicas": 4,
                            "desiredReplicas": 4,
                            "currentMetrics": [
                                {
                                    "type": "Resource",
                                    "resource": {
                                        "name": "cpu",
                                        "current": {
                                            "averageUtilization": 88,
                                            "averageValue": "176m",
                                        },
                                    },
                                }
                            ],
                        }
                    },
                )
            ),
        )

    def _rollback(self, w: World) -> None:
        w.deployments.rollout(
            self.api,
            GOOD_IMAGE,
            "ok",
            manager="kubectl-rollout",
            cause="kubectl rollout undo deployment/api",
        )
        w.traffic.error_rate.update({"checkout": 0.08, "api": 0.02, "web": 0.02})
        w.traffic.load.update({"checkout": 1.3, "api": 1.1, "web": 1.1})

    def _recovered(self, w: World) -> None:
        w.traffic.load.clear()
        w.traffic.error_rate.clear()
        w.emit(
            Patch(
                "horizontalpodautoscalers.autoscaling",
                "shop",
                "checkout",
                {
                    "status": {
                        "currentMetrics": [
                            {
                                "type": "Resource",
                                "resource": {
                                    "name": "cpu",
                                    "current": {"averageUtilization": 41, "averageValue": "82m"},
                                },
                            }
                        ]
                    }
                },
            )
        )

    def _hpa_down(self, w: World) -> None:
        w.events.record(
            "shop",
            "HorizontalPodAutoscaler",
            "checkout",
            "SuccessfulRescale",
            "New size: 2; reason: All metrics below target",
            component="horizontal-pod-autoscaler",
            api_version="autoscaling/v2",
        )
        w.emit(
            Patch(
                "horizontalpodautoscalers.autoscaling",
                "shop",
                "checkout",
                {"status": {"currentReplicas": 4, "desiredReplicas": 2, "lastScaleTime": NOW}},
            )
        )
        w.deployments.scale(self.checkout, 2, "kube-controller-manager")

    # ---- background ----------------------------------------------------------------------

    def _cron(self) -> None:
        """The `report` CronJob fires (each minute): a Job and its pod; old jobs are deleted."""
        w = self.w
        minute = int(w.s.now // 60)
        job = f"report-{29_000_000 + minute}"
        labels = {"app": "report", "job-name": job, "batch.kubernetes.io/job-name": job}
        tmpl = o.pod_template(
            labels, [o.container("report", "registry.example.com/payments/report:1.4.0")]
        )
        tmpl["spec"]["restartPolicy"] = "OnFailure"
        w.emit(
            Create(
                "jobs.batch",
                {
                    "kind": "Job",
                    "apiVersion": "batch/v1",
                    "metadata": o.meta(
                        job,
                        "payments",
                        {"app": "report"},
                        uid=o.kind_uid("payments", "Job", job),
                        ownerReferences=[o.owner("CronJob", "report", "payments", "batch/v1")],
                    ),
                    "spec": {
                        "completions": 1,
                        "parallelism": 1,
                        "backoffLimit": 6,
                        "template": tmpl,
                    },
                    "status": {"startTime": NOW, "active": 1},
                },
                manager="cronjob-controller",
            )
        )
        w.events.record(
            "payments",
            "CronJob",
            "report",
            "SuccessfulCreate",
            f"Created job {job}",
            component="cronjob-controller",
            api_version="batch/v1",
        )
        w.emit(
            Patch(
                "cronjobs.batch",
                "payments",
                "report",
                {
                    "status": {
                        "lastScheduleTime": NOW,
                        "active": [
                            {
                                "kind": "Job",
                                "namespace": "payments",
                                "name": job,
                                "apiVersion": "batch/v1",
                            }
                        ],
                    }
                },
                manager="cronjob-controller",
            )
        )
        pod = PodModel(
            "payments",
            f"{job}-{''.join(w.rng.choice(o.NAME_CHARS) for _ in range(5))}",
            labels,
            dict(tmpl["spec"]),
            AppProfile("job", 200, 64, 1.0),
            behavior="job",
            owner_ref=o.owner("Job", job, "payments", "batch/v1"),
        )
        w.events.record(
            "payments",
            "Job",
            job,
            "SuccessfulCreate",
            f"Created pod: {pod.name}",
            component="job-controller",
            api_version="batch/v1",
        )
        started = w.s.now

        def done(p: PodModel) -> None:
            w.emit(
                Patch(
                    "jobs.batch",
                    "payments",
                    job,
                    {
                        "status": {
                            "active": None,
                            "succeeded": 1,
                            "completionTime": NOW,
                            "startTime": o.at(started),
                            "conditions": [
                                {
                                    "type": "Complete",
                                    "status": "True",
                                    "lastProbeTime": NOW,
                                    "lastTransitionTime": NOW,
                                }
                            ],
                        }
                    },
                    manager="job-controller",
                )
            )
            w.events.record(
                "payments",
                "Job",
                job,
                "Completed",
                "Job completed",
                component="job-controller",
                api_version="batch/v1",
            )
            w.emit(
                Patch(
                    "cronjobs.batch",
                    "payments",
                    "report",
                    {"status": {"active": None, "lastSuccessfulTime": NOW}},
                    manager="cronjob-controller",
                )
            )
            w.s.after(2.0, self._forget_pod, p)

        pod.on_done = done
        w.kubelet.start_pod(pod)
        self._jobs.append(job)
        while len(self._jobs) > 3:
            old = self._jobs.pop(0)
            w.emit(Delete("jobs.batch", "payments", old, manager="cronjob-controller"))
            w.events.record(
                "payments",
                "CronJob",
                "report",
                "SawCompletedJob",
                f"Saw completed job: {old}, status: Complete",
                component="cronjob-controller",
                api_version="batch/v1",
            )
            for p in [p for p in w.kubelet.pods.values() if p.labels.get("job-name") == old]:
                w.kubelet.delete_pod(p, reason_event=False)

    def _forget_pod(self, pod: PodModel) -> None:
        # a completed pod stays (as Completed) until its job is deleted; stop sampling it
        pod.phase = "Succeeded"

    def _widget_change(self) -> None:
        w = self.w
        name = w.rng.choice(["blue-widget", "red-widget", "green-widget"])
        patch: dict[str, Any] = {"spec": {"size": w.rng.randint(1, 9)}}
        w.emit(Patch("widgets.demo.khronoscope.io", "shop", name, patch, manager="widget-operator"))
