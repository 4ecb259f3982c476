"""The keymap: defaults from keybindings.toml, user overrides, conflicts reported, bad files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from khronoscope.tui.keymap import (
    ACTIONS,
    KeymapError,
    conflicts,
    default_keys,
    default_text,
    load_keymap,
)
from khronoscope.tui.run import build_settings
from khronoscope.tui.screens.detail import DetailScreen

from .conftest import SIZE, notifications

ROOT = Path(__file__).resolve().parents[2]


def test_top_level_keybindings_is_the_shipped_file():
    top = ROOT / "keybindings.toml"
    shipped = ROOT / "khronoscope" / "keybindings.toml"
    assert top.read_bytes() == shipped.read_bytes()
    assert default_text() == shipped.read_text(encoding="utf-8")


def test_every_action_has_a_default_and_defaults_do_not_conflict():
    keys = default_keys()
    assert set(keys) == {a.id for a in ACTIONS}
    assert conflicts(keys) == []


def write(tmp_path: Path, text: str, name: str = "keys.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_user_file_overrides_by_id_in_both_spellings(tmp_path):
    path = write(tmp_path, '"table.describe" = ["u", "ctrl+u"]\n[table]\nyaml = "v"\n')
    keymap, startup = load_keymap([(path, True)])
    assert startup == []
    assert keymap.keys["table.yaml"] == ("v",)
    assert keymap.keys["table.describe"] == ("u", "ctrl+u")
    assert keymap.origin["table.yaml"] == str(path)
    assert keymap.overrides() == {"table.yaml": "v", "table.describe": "u,ctrl+u"}


def test_conflicts_are_reported_and_the_change_is_not_applied(tmp_path):
    # `d` is describe's key: giving it to yaml too would make one of them unreachable
    path = write(tmp_path, '[table]\nyaml = "d"\ntop = ":"\n[detail]\nyaml = "q"\n')
    keymap, _ = load_keymap([(path, True)])
    assert keymap.keys["table.yaml"] == ("y",)
    assert keymap.keys["table.top"] == ("home", "g")
    assert keymap.keys["detail.yaml"] == ("y",)
    text = "\n".join(keymap.problems)
    assert "table.yaml = 'd' conflicts with table.describe" in text
    assert "table.top = ':' conflicts with app.command" in text
    assert "detail.yaml = 'q' conflicts with detail.back" in text
    assert conflicts(keymap.keys) == []


def test_swapping_two_keys_is_not_a_conflict(tmp_path):
    path = write(tmp_path, '[table]\nyaml = "d"\ndescribe = "y"\n')
    keymap, _ = load_keymap([(path, True)])
    assert keymap.problems == []
    assert (keymap.keys["table.yaml"], keymap.keys["table.describe"]) == (("d",), ("y",))


def test_unknown_ids_and_bad_values_are_reported_the_rest_applies(tmp_path):
    path = write(tmp_path, '[table]\nyamll = "v"\ndescribe = 3\nyaml = "v"\n')
    keymap, _ = load_keymap([(path, True)])
    assert keymap.keys["table.yaml"] == ("v",)
    assert any("unknown binding id 'table.yamll'" in p for p in keymap.problems)
    assert any("table.describe must be a key" in p for p in keymap.problems)


@pytest.mark.parametrize("bad", ["esc", "ctrlx+q", "f25", "qq", "ctrl+", "ctrl+ctrl+c", "Escape"])
def test_keys_that_are_not_keys_are_reported_and_the_default_kept(tmp_path, bad):
    """A key Textual never reports would leave the action unbound, silently."""
    path = write(tmp_path, f'[table]\nyaml = "{bad}"\ndescribe = "u"\n')
    keymap, _ = load_keymap([(path, True)])
    assert keymap.keys["table.yaml"] == default_keys()["table.yaml"]
    assert keymap.keys["table.describe"] == ("u",)  # the rest of the file applies
    assert [p for p in keymap.problems if "table.yaml" in p and "is not a key" in p]


def test_every_textual_key_name_is_a_key():
    from textual.keys import Keys

    from khronoscope.tui.keymap import is_key, normalize_key

    names = [k.value for k in Keys if not k.value.startswith("<") and k.value != "ctrl-at"]
    assert [n for n in names if not is_key(normalize_key(n))] == []
    printable = [chr(c) for c in range(33, 127)]
    assert [c for c in printable if not is_key(normalize_key(c))] == []


def test_malformed_file_is_one_startup_line_and_defaults(tmp_path):
    path = write(tmp_path, "[table\nyaml = 'v'\n")
    keymap, startup = load_keymap([(path, False)])
    assert len(startup) == 1 and "not valid TOML" in startup[0]
    assert keymap.keys == default_keys()


def test_missing_explicit_file_is_an_error_missing_xdg_file_is_not(tmp_path):
    with pytest.raises(KeymapError, match="does not exist"):
        load_keymap([(tmp_path / "nope.toml", True)])
    keymap, startup = load_keymap([(tmp_path / "nope.toml", False)])
    assert startup == [] and keymap.keys == default_keys()


def test_later_files_win_over_earlier(tmp_path):
    xdg = write(tmp_path, '[table]\nyaml = "v"\n', "xdg.toml")
    cli = write(tmp_path, '[table]\nyaml = "w"\n', "cli.toml")
    keymap, _ = load_keymap([(xdg, False), (cli, True)])
    assert keymap.keys["table.yaml"] == ("w",)


async def test_user_keymap_drives_the_app(tmp_path, make_app):
    path = write(tmp_path, '[table]\nyaml = "v"\n[browser]\nfilter = "f"\n[table]\n')
    # (a repeated table header is invalid TOML: reported, defaults kept)
    settings = build_settings(keymap=str(path), user_keymap=tmp_path / "none.toml")
    assert settings.startup_messages and "not valid TOML" in settings.startup_messages[0]

    path = write(tmp_path, '[table]\nyaml = "v"\nopen = "o"\n[browser]\nfilter = "f"\n')
    settings = build_settings(keymap=str(path), user_keymap=tmp_path / "none.toml")
    app = make_app(155, keymap=settings.keymap)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("y")  # no longer bound
        await pilot.pause()
        assert not isinstance(app.screen, DetailScreen)
        await pilot.press("v")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        assert app.screen.mode == "yaml"
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("f", *"web", "enter")
        await pilot.pause()
        assert app.browser.view.filter.text == "web"


async def test_conflicts_are_shown_in_the_app(tmp_path, make_app):
    path = write(tmp_path, '[table]\nyaml = "d"\n')
    settings = build_settings(keymap=str(path), user_keymap=tmp_path / "none.toml")
    app = make_app(155, keymap=settings.keymap)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert any("conflicts with table.describe" in m for m in notifications(app))
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)  # the default was kept


# the product's entry, and the developers' browser over the synthetic scenarios
@pytest.mark.parametrize(
    "entry", [["khronoscope", "demo", "--no-record"], ["tests.testing.browse"]]
)
def test_cli_reports_a_missing_keymap_in_one_line(tmp_path, entry):
    out = subprocess.run(
        [sys.executable, "-m", *entry, "--keymap", str(tmp_path / "missing.toml")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0
    assert "does not exist" in out.stderr


def test_key_names_agree_with_textual_for_every_printable_character():
    import string

    from textual.keys import _character_to_key

    from khronoscope.tui.keymap import normalize_key

    for ch in string.printable.strip():
        assert normalize_key(ch) == _character_to_key(ch), ch


def test_the_cli_does_not_import_textual_until_the_browser_runs():
    code = (
        "import sys, khronoscope.cli; khronoscope.cli.build_parser(); "
        "print('textual' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "False"
