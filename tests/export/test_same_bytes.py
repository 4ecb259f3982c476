"""The commits an export writes are pinned byte for byte: tree ids, messages, author dates and
identities of a range and of a moment are those the first writer (a hand-rolled git wrapper and
PyYAML's emitter) produced for the same scenario. A faster writer must change none of them."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

from khronoscope.core.source import SourceInfo
from khronoscope.core.timefmt import NS
from khronoscope.export import export_moment, export_range
from tests.export.conftest import git
from tests.export.scenario import T0, MemorySource, configmap, deployment

# every line a user could read in `git log`, except the committer date (the time of export)
LOG_FORMAT = "%T %ad|%an <%ae>|%cn <%ce>|%P%n%B%n--"


def history(repo: Path) -> list[str]:
    """One entry per commit, oldest first: tree, author date, identities, message."""
    out = git(repo, "log", "--reverse", "--date=raw", f"--format={LOG_FORMAT}")
    # parents differ by committer date: keep only how many there are
    entries = []
    for block in out.split("\n--\n"):
        if not block.strip():
            continue
        head, _, body = block.strip("\n").partition("\n")
        fields = head.split("|")
        fields[-1] = str(len(fields[-1].split()))
        entries.append("|".join(fields) + "\n" + body)
    return entries


def digest(entries: list[str]) -> str:
    return hashlib.sha256("\n\0".join(entries).encode()).hexdigest()


def yaml_zoo(n: int) -> dict:
    """A ConfigMap whose values take every YAML style: plain, quoted, literal, escaped."""
    data = {
        "plain": f"value-{n}",
        "image": f"registry.example.com:5000/team/app:v{n}",
        "spaces": f"two words {n}",
        "colon-space": "a: b",
        "hash": "a #b",
        "leading-dash": "- x",
        "quote": "it's",
        "dquote": 'say "hi"',
        "backslash": "C:\\path",
        "tab": "a\tb",
        "trailing-space": "x ",
        "leading-space": " x",
        "unicode": "grüße ✓",
        "emoji": "🚀 launch",
        "bom": "\ufeffx",
        "nbsp": "a\xa0b",
        "control": "bell\x07",
        "literal": f"line one\nline two {n}\n",
        "literal-no-end": "a\nb",
        "literal-lead": "  indented\nnext\n",
        "literal-blank": "a\n\n\nb\n",
        "literal-two-ends": "a\n\n",
        "literal-trailing-space": "a \nb\n",
        "literal-tab": "a\n\tb\n",
        "literal-cr": "a\r\nb\n",
        "literal-nl-only": "\n",
        "literal-lead-break": "\nx\n",
        "ls": "a\u2028b",
        "true": "true",
        "int": "0012",
        "float": "1.5e3",
        "date": "2026-01-10",
        "tilde": "~",
        "empty": "",
        "star": "*ref",
        "amp": "&anchor",
        "bang": "!tag",
        "pct": "%x",
        "at": "@x",
        "tick": "`x",
        "brace": "{a}",
        "bracket": "[a]",
        "comma": "a,b",
        "question": "? x",
        "dots": "...x",
        "dashes": "---x",
        "colon-end": "x:",
        "k" * 122: "key of 122",
        "k" * 123: "key of 123",
        "k" * 130: "key of 130",
        "key with spaces": "v",
        "yes": "yes",
        "ключ": "значение",
    }
    obj = configmap(f"zoo-{n % 3}", data)
    obj["metadata"]["labels"] = {"tier": "web", "n": str(n), "bool": "false"}
    obj["metadata"]["annotations"] = {"note": "x" * 300, "multi": "a\nb"}
    obj["extra"] = {
        "ints": [1, -2, 0, 2**40],
        "bools": [True, False],
        "none": None,
        "empty-map": {},
        "empty-list": [],
        "nested": [[1, [2, {}]], [], {"a": [{"b": "c", "d": []}]}],
        "maps": [{"x": {"y": {"z": "deep"}}}, {}],
    }
    return obj


def random_history(seed: int = 7, objects: int = 40, changes: int = 160) -> MemorySource:
    """A bench-like history: Deployments and ConfigMaps changing, a quarter status-only."""
    rnd = random.Random(seed)
    src = MemorySource(info=SourceInfo(cluster="bench"))
    keys = []
    for i in range(objects):
        if i % 2:
            obj = deployment(f"img:{i}")
            obj["metadata"]["name"] = f"web-{i}"
            obj["metadata"]["namespace"] = f"ns-{i % 4}"
        else:
            obj = configmap(f"cfg-{i}", {"k": str(i), "blob": "x" * 40}, f"ns-{i % 4}")
        keys.append((src.put(T0, obj), obj))
    src.put(T0, yaml_zoo(0))
    t = T0
    for n in range(changes):
        t += rnd.randint(1, 5) * NS
        if n % 10 == 9:
            src.put(t, yaml_zoo(n))
            continue
        i = rnd.randrange(len(keys))
        key, obj = keys[i]
        obj = dict(obj)
        obj["metadata"] = dict(obj["metadata"], resourceVersion=str(10_000 + n))
        if n % 4 == 3:
            obj["status"] = {"observed": n}
        elif key.type == "configmaps":
            obj["data"] = {"k": str(n), "blob": "x" * 40}
        else:
            obj["spec"] = dict(obj["spec"], replicas=n % 7 + 1)
        src.put(t, obj)
        keys[i] = (key, obj)
    return src


def test_a_range_is_written_byte_for_byte_as_before(tmp_path):
    src = random_history()
    last = src.tmap.last_t
    assert last is not None
    result = export_range(src, T0, last, tmp_path / "r")
    entries = history(tmp_path / "r")
    assert len(entries) == len(result.commits) == RANGE_COMMITS
    assert digest(entries) == RANGE_DIGEST


def test_a_moment_is_written_byte_for_byte_as_before(scenario, tmp_path):
    src, t = scenario
    export_moment(src, t["image"], tmp_path / "m")
    assert digest(history(tmp_path / "m")) == MOMENT_DIGEST
    src = random_history()
    export_moment(src, T0 + 200 * NS, tmp_path / "z")
    assert git(tmp_path / "z", "rev-parse", "HEAD^{tree}").strip() == ZOO_TREE


# recorded from the first writer (commit c7b3b7e), before the fast-import tuning and the YAML writer
RANGE_COMMITS = 121
RANGE_DIGEST = "5d2907b9fd82c730ce436fefdca7841c8ed2847f815cec1ac91ca3a31b4f35b1"
MOMENT_DIGEST = "0483ccaea956d9bc172ae3a36133afa4fd2e67de8ee25a70e5012ecf6b555ad8"
ZOO_TREE = "697098284c6d601e3529e7006bbf667a915de5ee"
