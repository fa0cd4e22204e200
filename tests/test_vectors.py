"""The STF vectors are pinned: rebuilding them must give the committed bytes.

A failure here means the STF's behaviour changed. If the change is deliberate (a new
STF version), rewrite the vectors with ``rollbook vectors`` and say so in the commit.
"""

from __future__ import annotations

import hashlib
import json

from rollbook.sim.vectors import DEFAULT_OUT, build_all


def test_vectors_match_the_pinned_files() -> None:
    built = build_all()
    manifest = json.loads((DEFAULT_OUT / "manifest.json").read_text())
    assert sorted(manifest) == sorted(n for n in built if n != "manifest.json")
    for name, body in built.items():
        if name == "manifest.json":
            continue
        assert hashlib.sha256(body).hexdigest() == manifest[name], f"{name} changed"
        assert (DEFAULT_OUT / name).read_bytes() == body, f"{name} differs from the file"


def test_vectors_cover_accepts_and_rejections() -> None:
    built = build_all()
    outcomes = {
        name: json.loads(body)["receipt"]["ok"]
        for name, body in built.items()
        if name != "manifest.json"
    }
    assert any(outcomes.values()) and not all(outcomes.values())
    for name, body in built.items():
        if name == "manifest.json":
            continue
        vector = json.loads(body)
        if not vector["receipt"]["ok"]:
            assert vector["pre"]["root"] == vector["post"]["root"], name
        else:
            assert vector["pre"]["root"] != vector["post"]["root"], name
