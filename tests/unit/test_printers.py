"""kubectl-like rows: what `kubectl get` would print for an object, as of a time t."""

from __future__ import annotations

import copy
import json

import pytest

from khronoscope.core.timefmt import NS, format_k8s_time, parse_k8s_time
from khronoscope.printers import RowPrinter, columns_for, format_cell, row_for, row_with
from khronoscope.printers.jsonpath import compile_path
from khronoscope.printers.redact import LAST_APPLIED, PLACEHOLDER, redact
from khronoscope.printers.selector import SelectorError, parse_selector, selector_from_spec
from khronoscope.printers.yamlfmt import to_yaml
from tests import testing

T = parse_k8s_time("2026-03-14T10:00:00Z") or 0


def printed(type_name: str, obj: dict, t: int = T) -> dict[str, str]:
    """The row as kubectl prints it: column name -> text."""
    cols = columns_for(type_name)
    row = row_for(type_name, obj)
    return {c.name: format_cell(c.kind, v, t) for c, v in zip(cols.columns, row.cells, strict=True)}


def ago(seconds: int) -> str:
    return format_k8s_time(T - seconds * NS)


def pod(**status) -> dict:
    base = {
        "metadata": {"name": "p", "namespace": "n", "creationTimestamp": ago(300)},
        "spec": {"containers": [{"name": "a"}], "nodeName": "node-1"},
        "status": {"phase": "Running"},
    }
    base["status"].update(status)
    return base


def running(name: str = "a", restarts: int = 0, **extra) -> dict:
    return {
        "name": name,
        "ready": True,
        "restartCount": restarts,
        "state": {"running": {}},
        **extra,
    }


# --- pods: STATUS as kubectl computes it -------------------------------------------------------


def test_pending_pod_without_statuses_prints_pending_and_no_node():
    obj = pod(phase="Pending")
    del obj["spec"]["nodeName"]
    row = printed("pods", obj)
    assert row["STATUS"] == "Pending"
    assert row["READY"] == "0/1"
    assert row["NODE"] == "<none>"
    assert row["IP"] == "<none>"
    assert row["AGE"] == "5m"


def test_running_pod_counts_ready_containers_and_shows_ip():
    obj = pod(containerStatuses=[running()], podIP="10.0.0.5", podIPs=[{"ip": "10.0.0.5"}])
    row = printed("pods", obj)
    assert (row["READY"], row["STATUS"], row["RESTARTS"], row["IP"]) == (
        "1/1",
        "Running",
        "0",
        "10.0.0.5",
    )


def test_crashloop_shows_waiting_reason_and_restarts_with_time_since_last():
    cs = {
        "name": "a",
        "ready": False,
        "restartCount": 4,
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(42)}},
    }
    row = printed("pods", pod(containerStatuses=[cs]))
    assert row["STATUS"] == "CrashLoopBackOff"
    assert row["READY"] == "0/1"
    assert row["RESTARTS"] == "4 (42s ago)"
    # the same row read 10 minutes later: the restart is older, nothing was recomputed
    later = printed("pods", pod(containerStatuses=[cs]), T + 600 * NS)
    assert later["RESTARTS"] == "4 (10m ago)"  # kubectl drops seconds from 10m on
    assert later["AGE"] == "15m"


def test_deletion_timestamp_prints_terminating_unless_the_pod_already_finished():
    obj = pod(containerStatuses=[running()])
    obj["metadata"]["deletionTimestamp"] = ago(1)
    assert printed("pods", obj)["STATUS"] == "Terminating"
    done = pod(phase="Succeeded")
    done["metadata"]["deletionTimestamp"] = ago(1)
    assert printed("pods", done)["STATUS"] == "Succeeded"
    lost = pod(reason="NodeLost")
    lost["metadata"]["deletionTimestamp"] = ago(1)
    assert printed("pods", lost)["STATUS"] == "Unknown"


def test_terminated_container_without_reason_prints_exit_code_or_signal():
    cs = {"name": "a", "restartCount": 0, "state": {"terminated": {"exitCode": 137}}}
    assert printed("pods", pod(containerStatuses=[cs]))["STATUS"] == "ExitCode:137"
    cs["state"]["terminated"]["signal"] = 9
    assert printed("pods", pod(containerStatuses=[cs]))["STATUS"] == "Signal:9"


def test_init_containers_print_progress_and_failures():
    obj = pod(phase="Pending")
    obj["spec"]["initContainers"] = [{"name": "i1"}, {"name": "i2"}]
    obj["status"]["initContainerStatuses"] = [
        {"name": "i1", "restartCount": 0, "state": {"terminated": {"exitCode": 0}}},
        {"name": "i2", "restartCount": 0, "state": {"running": {}}},
    ]
    assert printed("pods", obj)["STATUS"] == "Init:1/2"
    obj["status"]["initContainerStatuses"][1] = {
        "name": "i2",
        "restartCount": 2,
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
    }
    row = printed("pods", obj)
    assert row["STATUS"] == "Init:CrashLoopBackOff"
    assert row["RESTARTS"] == "2"
    obj["status"]["initContainerStatuses"][1] = {
        "name": "i2",
        "restartCount": 0,
        "state": {"terminated": {"exitCode": 3, "reason": "Error"}},
    }
    assert printed("pods", obj)["STATUS"] == "Init:Error"


def test_sidecar_init_container_counts_in_ready_and_total():
    obj = pod(
        containerStatuses=[running()],
        initContainerStatuses=[
            {"name": "proxy", "ready": True, "started": True, "restartCount": 1, "state": {}}
        ],
        conditions=[{"type": "Initialized", "status": "True"}],
    )
    obj["spec"]["initContainers"] = [{"name": "proxy", "restartPolicy": "Always"}]
    row = printed("pods", obj)
    assert row["READY"] == "2/2"
    assert row["STATUS"] == "Running"
    assert row["RESTARTS"] == "1"


def test_completed_container_with_another_still_running_is_running_or_notready():
    statuses = [
        running("b"),
        {"name": "a", "restartCount": 0, "state": {"terminated": {"reason": "Completed"}}},
    ]
    obj = pod(containerStatuses=statuses, conditions=[{"type": "Ready", "status": "True"}])
    obj["spec"]["containers"].append({"name": "b"})
    assert printed("pods", obj)["STATUS"] == "Running"
    obj["status"]["conditions"] = [{"type": "Ready", "status": "False"}]
    assert printed("pods", obj)["STATUS"] == "NotReady"


# --- other built-in types ----------------------------------------------------------------------


def test_deployment_job_cronjob_service_node_secret_rows():
    dep = testing.deployment("web", "shop", T - 60 * NS, 3, 2)
    assert printed("deployments.apps", dep) == {
        "READY": "2/3",
        "UP-TO-DATE": "3",
        "AVAILABLE": "2",
        "AGE": "60s",
        "CONTAINERS": "web",
        "IMAGES": "nginx:1.27",
    }
    job = {
        "metadata": {"creationTimestamp": ago(100)},
        "spec": {"completions": 2},
        "status": {"startTime": ago(90), "succeeded": 1},
    }
    row = printed("jobs.batch", job)
    assert (row["STATUS"], row["COMPLETIONS"], row["DURATION"]) == ("Running", "1/2", "90s")
    job["status"] |= {
        "completionTime": ago(30),
        "conditions": [{"type": "Complete", "status": "True"}],
    }
    row = printed("jobs.batch", job, T + 3600 * NS)
    assert (row["STATUS"], row["DURATION"]) == ("Complete", "60s")
    cron = {
        "metadata": {"creationTimestamp": ago(7200)},
        "spec": {"schedule": "*/5 * * * *"},
        "status": {"lastScheduleTime": ago(120), "active": [{}]},
    }
    assert printed("cronjobs.batch", cron) == {
        "SCHEDULE": "*/5 * * * *",
        "TIMEZONE": "<none>",
        "SUSPEND": "False",
        "ACTIVE": "1",
        "LAST SCHEDULE": "2m",
        "AGE": "120m",
    }
    svc = {
        "metadata": {"creationTimestamp": ago(5)},
        "spec": {
            "type": "LoadBalancer",
            "clusterIP": "10.96.0.10",
            "ports": [
                {"port": 80, "protocol": "TCP", "nodePort": 30080},
                {"port": 53, "protocol": "UDP"},
            ],
        },
        "status": {"loadBalancer": {}},
    }
    row = printed("services", svc)
    assert (row["TYPE"], row["EXTERNAL-IP"], row["PORT(S)"]) == (
        "LoadBalancer",
        "<pending>",
        "80:30080/TCP,53/UDP",
    )
    node = testing.node("node-1", T - 86400 * NS, ready=False)
    node["spec"]["unschedulable"] = True
    row = printed("nodes", node)
    assert (row["STATUS"], row["ROLES"], row["VERSION"]) == (
        "NotReady,SchedulingDisabled",
        "control-plane",
        "v1.31.2",
    )
    secret = testing.secret(T)
    row = row_for("secrets", secret)
    assert printed("secrets", secret)["DATA"] == "2"
    assert testing.SECRET_PASSWORD not in repr(row)
    assert secret["data"]["password"] not in repr(row)


def test_event_row_names_its_object():
    ev = testing.event("e", "shop", T - 30 * NS, "Pod", "web-1", "BackOff", "restarting", True)
    row = printed("events", ev)
    assert row["LAST SEEN"] == "30s"
    assert (row["TYPE"], row["REASON"], row["OBJECT"]) == ("Warning", "BackOff", "pod/web-1")


def test_unknown_type_prints_name_and_age_only():
    assert [c.name for c in columns_for("widgets.example.org").columns] == ["AGE"]
    assert printed("widgets.example.org", {"metadata": {"creationTimestamp": ago(3)}}) == {
        "AGE": "3s"
    }


# --- CRDs --------------------------------------------------------------------------------------


def test_crd_printer_columns_come_from_the_crd_and_survive_a_late_crd():
    printer = RowPrinter()
    db = testing.database("orders", "shop", T - 10 * NS, "Ready", "True", 3)
    early = printer.row_for("databases.example.com", db)  # before the CRD was seen
    assert [c.name for c in printer.columns_for("databases.example.com").columns] == ["AGE"]
    printer.row_for("customresourcedefinitions.apiextensions.k8s.io", testing.DATABASE_CRD)
    cols = printer.columns_for("databases.example.com", crd=testing.DATABASE_CRD)
    assert [c.name for c in cols.columns] == ["ENGINE", "SIZE", "PHASE", "READY", "AGE"]
    late = printer.row_for("databases.example.com", db)
    assert late.fmt == cols.fmt != early.fmt
    # an early row is recomputed in the CRD's layout when shown
    fixed = row_with(cols, db)
    texts = [format_cell(c.kind, v, T) for c, v in zip(cols.columns, fixed.cells, strict=True)]
    assert texts == ["postgres", "3", "Ready", "True", "10s"]
    assert fixed == late


def test_crd_columns_follow_the_crd_version_of_the_object():
    crd = copy.deepcopy(testing.DATABASE_CRD)
    v2 = copy.deepcopy(crd["spec"]["versions"][0])
    v2["name"], v2["storage"] = "v2", False
    v2["additionalPrinterColumns"] = [{"name": "Owner", "type": "string", "jsonPath": ".spec.o"}]
    crd["spec"]["versions"].append(v2)
    printer = RowPrinter()
    printer.learn_crd(crd)
    obj = {"apiVersion": "example.com/v2", "metadata": {"name": "x"}, "spec": {"o": "team-a"}}
    assert printer.row_for("databases.example.com", obj).cells == ("team-a",)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (".spec.size", [3]),
        ("{.spec.size}", [3]),
        ('.status.conditions[?(@.type=="Ready")].status', ["True"]),
        (".status.conditions[?(@.type!='Ready')].type", ["Synced"]),
        (".status.conditions[0].type", ["Ready"]),
        (".status.conditions[-1].type", ["Synced"]),
        (".status.conditions[*].type", ["Ready", "Synced"]),
        (".metadata.labels.app\\.kubernetes\\.io/name", ["db"]),
        (".metadata.labels['app.kubernetes.io/name']", ["db"]),
        (".spec.missing", []),
        (".spec.size.deeper", []),
    ],
)
def test_jsonpath_subset(path, expected):
    obj = {
        "metadata": {"labels": {"app.kubernetes.io/name": "db"}},
        "spec": {"size": 3},
        "status": {
            "conditions": [
                {"type": "Ready", "status": "True"},
                {"type": "Synced", "status": "False"},
            ]
        },
    }
    assert compile_path(path)(obj) == expected


# --- selectors ---------------------------------------------------------------------------------


def test_label_selectors_match_like_kubernetes():
    labels = (("app", "web"), ("tier", "front"))
    assert parse_selector("app=web").matches(labels)
    assert parse_selector("app==web,tier!=db").matches(labels)
    assert parse_selector("tier in (front, back)").matches(labels)
    assert not parse_selector("tier notin (front)").matches(labels)
    assert parse_selector("app,!legacy").matches(labels)
    assert not parse_selector("legacy").matches(labels)
    assert parse_selector("env!=prod").matches(labels)  # absent label: != holds


@pytest.mark.parametrize("text", ["", "app=", "=web", "app in (a", "app in ()", "a=b,,c=d", "a b"])
def test_bad_selectors_raise_one_clear_error(text):
    if text == "app=":
        # kubernetes accepts an empty value: app= matches app=""
        assert parse_selector(text).matches((("app", ""),))
        return
    with pytest.raises(SelectorError):
        parse_selector(text)


def test_workload_selector_to_text():
    spec = {
        "matchLabels": {"app": "web"},
        "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}],
    }
    text = selector_from_spec(spec)
    assert text == "app=web,tier in (a,b)"
    assert parse_selector(text).matches((("app", "web"), ("tier", "b")))
    assert selector_from_spec({"app": "web"}) == "app=web"


# --- what the screen may show ------------------------------------------------------------------


def test_secret_values_never_reach_the_yaml():
    secret = testing.secret(T)
    secret["stringData"] = {"token": "plain-token-value"}
    text = to_yaml(redact(secret, "secrets"))
    assert testing.SECRET_PASSWORD not in text
    assert secret["data"]["password"] not in text
    assert "plain-token-value" not in text
    assert f"password: {PLACEHOLDER}" in text
    assert f"token: {PLACEHOLDER}" in text
    applied = json.loads(redact(secret)["metadata"]["annotations"][LAST_APPLIED])
    assert applied["data"] == {"password": PLACEHOLDER, "username": PLACEHOLDER}
    # the original is untouched (the store's copy is not edited)
    assert secret["data"]["password"] != PLACEHOLDER


def test_unreadable_last_applied_of_a_secret_is_hidden_whole():
    secret = testing.secret(T)
    secret["metadata"]["annotations"][LAST_APPLIED] = '{"data": {"password": "aHVudGVy"'
    assert "aHVudGVy" not in to_yaml(redact(secret))


def test_managed_fields_hidden_unless_asked_and_other_objects_untouched():
    obj = testing.scale_pod(1, T)
    assert "managedFields" not in redact(obj)["metadata"]
    assert redact(obj, managed_fields=True)["metadata"]["managedFields"]
    assert redact(obj, managed_fields=True) == obj


def test_yaml_keeps_field_order_and_block_strings():
    text = to_yaml({"b": 1, "a": {"conf": "line1\nline2\n"}})
    assert text.index("b:") < text.index("a:")
    assert "conf: |" in text


# --- malformed objects never break ingestion ---------------------------------------------------

_WORDS = [
    "metadata",
    "spec",
    "status",
    "containers",
    "initContainers",
    "containerStatuses",
    "initContainerStatuses",
    "state",
    "lastState",
    "waiting",
    "running",
    "terminated",
    "reason",
    "exitCode",
    "signal",
    "restartCount",
    "ready",
    "started",
    "conditions",
    "type",
    "name",
    "labels",
    "creationTimestamp",
    "deletionTimestamp",
    "finishedAt",
    "phase",
    "replicas",
    "readyReplicas",
    "ports",
    "port",
    "nodePort",
    "protocol",
    "selector",
    "matchLabels",
    "capacity",
    "accessModes",
    "claimRef",
    "involvedObject",
    "series",
    "count",
    "rules",
    "host",
    "loadBalancer",
    "ingress",
    "data",
    "template",
    "nodeInfo",
    "addresses",
    "restartPolicy",
    "completions",
    "parallelism",
    "startTime",
    "active",
    "externalIPs",
    "apiVersion",
]


def _json_like():
    from hypothesis import strategies as st

    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-5, 5),
        st.sampled_from(["", "x", "True", "2026-03-14T09:00:00Z", "Always", "Ready", "Running"]),
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(st.sampled_from(_WORDS), inner, max_size=5),
        ),
        max_leaves=25,
    )


def test_row_for_never_raises_on_malformed_objects():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from khronoscope.printers.kube import BUILTIN

    types = [*BUILTIN, "databases.example.com", "widgets.example.org"]
    printer = RowPrinter()
    printer.learn_crd(testing.DATABASE_CRD)

    @settings(max_examples=300, deadline=None)
    @given(st.sampled_from(types), st.dictionaries(st.sampled_from(_WORDS), _json_like()))
    def check(type_name, obj):
        row = printer.row_for(type_name, obj)
        cols = printer.columns_for(type_name, crd=testing.DATABASE_CRD)
        if row.fmt == cols.fmt:
            assert len(row.cells) == len(cols.columns)
            for c, v in zip(cols.columns, row.cells, strict=True):
                assert isinstance(format_cell(c.kind, v, T), str)
                # sort keys of one column are always comparable with a well-formed row's
                from khronoscope.printers import sort_value

                good = printer.row_for(type_name, {"metadata": {"name": "a"}})
                if good.fmt == row.fmt:
                    i = cols.columns.index(c)
                    sorted([sort_value(c.kind, v), sort_value(c.kind, good.cells[i])])
        hash(row.labels)

    check()


def test_describe_never_prints_secret_values():
    from khronoscope.printers.describe import describe_generic, describe_pod

    secret = testing.secret(T)
    text = describe_generic(secret, [], T)
    assert "password:" in text and "<redacted>" in text
    assert secret["data"]["password"] not in text
    assert testing.SECRET_PASSWORD not in text
    assert LAST_APPLIED not in text
    pod_obj = testing.pod("p", "shop", T)
    pod_obj["spec"]["containers"][0]["env"] = [
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}},
        {"name": "MODE", "value": "prod"},
    ]
    text = describe_pod(pod_obj, [], T)
    assert "DB_PASSWORD:  <set from a reference>" in text
    assert "MODE:" in text and "prod" in text
