"""What the simulated apps print: start-up lines, a crash's last words, and ordinary lines (an
error at the app's current error rate), by the kind of app."""

from __future__ import annotations

import random

from khronoscope.sim.scenarios.models import ContainerModel, PodModel, Traffic


class AppLogs:
    """The text of log lines; the kubelet decides when they are written."""

    def __init__(self, rng: random.Random, traffic: Traffic) -> None:
        self.rng = rng
        self.traffic = traffic

    def startup_lines(self, pod: PodModel, c: ContainerModel) -> list[str]:
        """What a container prints when it starts."""
        kind = pod.profile.kind
        if kind == "web":
            return [
                "/docker-entrypoint.sh: Configuration complete; ready for start up",
                "nginx/1.25.4 start worker processes",
            ]
        if kind in ("api", "payments"):
            return [
                f'{{"level":"info","ts":"<now>","msg":"starting","version":"{c.image.split(":")[-1]}"}}',
                '{"level":"info","ts":"<now>","msg":"loaded configuration","source":"env"}',
                '{"level":"info","ts":"<now>","msg":"listening","addr":":8080"}',
            ]
        if kind == "checkout":
            return [
                "INFO  checkout starting (pid 1)",
                "INFO  connected to redis at redis.shop.svc:6379",
                "INFO  serving on :8080",
            ]
        if kind == "redis":
            return [
                "1:C <now> * oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo",
                "1:M <now> * Ready to accept connections tcp",
            ]
        if kind == "coredns":
            return [".:53", "CoreDNS-1.11.1", "linux/amd64, go1.20.7, ae2bbc2"]
        if kind == "job":
            return ["report: starting daily revenue report"]
        return [f"{c.name}: started"]

    def crash_lines(self, pod: PodModel, c: ContainerModel) -> list[str]:
        """What a crashing container prints before it dies."""
        return [
            '{"level":"info","ts":"<now>","msg":"loaded configuration",'
            '"source":"configmap/api-config"}',
            '{"level":"error","ts":"<now>","msg":"feature new_pricing enabled but '
            'PRICING_SERVICE_URL is not set","config":"api-config"}',
            '{"level":"fatal","ts":"<now>","msg":"invalid configuration, exiting","exitCode":1}',
            "panic: invalid configuration: PRICING_SERVICE_URL is required when "
            "FEATURE_NEW_PRICING=true",
            "",
            "goroutine 1 [running]:",
            "main.mustLoadConfig(...)",
            "\t/src/cmd/api/main.go:87 +0x1d4",
            "main.main()",
            "\t/src/cmd/api/main.go:41 +0x65",
        ]

    def log_line(self, pod: PodModel, c: ContainerModel) -> str:
        """One ordinary log line of a running container (an error at the app's error rate)."""
        r = self.rng
        kind = pod.profile.kind
        err = r.random() < self.traffic.error_rate.get(kind, 0.0)
        if kind == "web":
            path = r.choice(
                ["/", "/products", f"/products/{r.randint(1, 500)}", "/cart", "/static/app.js"]
            )
            code = r.choice([502, 504]) if err else r.choice([200, 200, 200, 304])
            return (
                f'10.244.0.{r.randint(2, 250)} - - [<now>] "GET {path} HTTP/1.1" {code} '
                f"{r.randint(200, 9000)} "
                f'"-" "Mozilla/5.0"'
            )
        if kind == "api":
            if err:
                return (
                    '{"level":"error","ts":"<now>","msg":"request failed","path":"/v1/prices",'
                    '"error":"db: connection pool exhausted (size=5)"}'
                )
            path = r.choice(["/v1/prices", "/v1/products", "/v1/cart", "/healthz"])
            return (
                '{"level":"info","ts":"<now>","msg":"request completed","method":"GET",'
                f'"path":"{path}",'
                f'"status":200,"duration_ms":{r.randint(2, 60)}}}'
            )
        if kind == "checkout":
            if err:
                return r.choice(
                    [
                        "WARN  upstream api.shop.svc returned 503, retrying "
                        f"(attempt {r.randint(1, 3)}/3)",
                        "ERROR payment authorization timed out after 5000ms",
                        "ERROR order failed: upstream api unavailable",
                    ]
                )
            total = f"{r.randint(5, 300)}.{r.randint(0, 99):02d}"
            return f"INFO  order {r.randint(10000, 99999)} placed total={total} USD"
        if kind == "payments":
            if err:
                return '{"level":"warn","ts":"<now>","msg":"card network slow","latency_ms":2300}'
            return (
                '{"level":"info","ts":"<now>","msg":"authorized payment",'
                f'"id":"pay_{r.getrandbits(40):010x}",'
                f'"amount":{r.randint(5, 300)}}}'
            )
        if kind == "redis":
            return r.choice(
                [
                    "1:M <now> * 100 changes in 300 seconds. Saving...",
                    "1:M <now> * Background saving started by pid 42",
                    "42:C <now> * DB saved on disk",
                    "1:M <now> * Background saving terminated with success",
                ]
            )
        if kind == "coredns":
            name = r.choice(
                [
                    "api.shop.svc.cluster.local.",
                    "redis.shop.svc.cluster.local.",
                    "payments-api.payments.svc.cluster.local.",
                ]
            )
            return (
                f"[INFO] 10.244.{r.randint(1, 3)}.{r.randint(2, 250)}:{r.randint(30000, 60000)} - "
                f'{r.randint(1, 65535)} "A IN {name} udp 52 false 512" NOERROR qr,aa,rd 106 '
                f"0.000{r.randint(1, 999)}s"
            )
        if kind == "job":
            return f"report: processed batch {r.randint(1, 40)}"
        return f"{c.name}: tick {r.randint(1, 10**6)}"
