"""The circuits' key cache (rollbook.zk.keys): a setup lands whole or not at all, and
what the code did not write is never deleted."""

from __future__ import annotations

from pathlib import Path

import pytest

from rollbook.crypto import babyjub as bj
from rollbook.crypto.poseidon import poseidon
from rollbook.zk import keys as zk
from tests.zk.helpers import key_auth_inputs


def test_keys_are_cached_whole_and_a_foreign_folder_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    setup = zk.circuit_keys.__wrapped__  # past the per-process memo
    folder = zk.cache_dir() / f"key_auth-{zk.circuit_digest('key_auth')[:16]}"
    folder.mkdir(parents=True)
    (folder / "verification_key.json").write_text("{}")  # a folder without its key
    with pytest.raises(zk.ZkCacheError, match="not a complete key folder"):
        setup("key_auth")  # never deleted: it could be another process's, landing
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]  # ours cleaned up
    (folder / "verification_key.json").unlink()
    folder.rmdir()
    first = setup("key_auth")
    assert sorted(p.name for p in folder.iterdir()) == [
        "proving.key",
        "stats.json",
        "verification_key.json",
    ]
    assert [p for p in folder.parent.iterdir() if p != folder] == []  # no leftovers
    second = setup("key_auth")  # loaded from the cache: the same pair
    assert second.verifying.to_json() == first.verifying.to_json()
    assert second.constraints == first.constraints > 4_000  # an EdDSA check and more
    seed = bytes([9]) * 32
    key, signature = bj.public_key(seed), bj.sign(seed, 5)
    proof = zk.prove(second, key_auth_inputs(key, 5, signature), poseidon([key.x, key.y, 5]))
    assert zk.verify(first, proof, poseidon([key.x, key.y, 5]))
