"""Pseudonyms are stable, keyed, and the generated key survives restarts."""

from __future__ import annotations

from pathlib import Path

from custodes.config import Settings
from custodes.privacy.pseudonyms import Pseudonyms, is_pseudonym
from custodes.store.cases import CaseStore


def test_keyed_stable_and_well_formed(cases: CaseStore, tmp_path: Path) -> None:
    a = Pseudonyms.load(cases, Settings(data_dir=tmp_path, pseudonym_key="a" * 32))
    b = Pseudonyms.load(cases, Settings(data_dir=tmp_path, pseudonym_key="b" * 32))
    assert a.of("m042") == a.of("m042")
    assert is_pseudonym(a.of("m042"))
    assert a.of("m042") != a.of("m043")
    assert a.of("m042") != b.of("m042")  # a different key, unlinkable pseudonyms
    assert a.mask("m0421 and m042 met", ["m042", "m0421"]) == (
        f"{a.of('m0421')} and {a.of('m042')} met"
    )


def test_a_generated_key_is_kept_in_the_store(cases: CaseStore, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = Pseudonyms.load(cases, settings).of("m042")
    with CaseStore(cases.url) as reopened:
        assert Pseudonyms.load(reopened, settings).of("m042") == first
    assert first != Pseudonyms.load(cases, Settings(data_dir=tmp_path, pseudonym_key="c" * 32)).of(
        "m042"
    )
