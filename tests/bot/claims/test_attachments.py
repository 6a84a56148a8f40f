"""Attachments at the channel edge: photos checked and stored, only references passed on."""

from __future__ import annotations

import base64
import hashlib
import io

from PIL import Image

from bot.claims.attachments import PhotoRef, ingest, references
from bot.claims.evidence import EvidenceStore


def _png(colour: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 6), colour).save(out, format="PNG")
    return out.getvalue()


def test_photos_become_references_to_stored_files(tmp_path) -> None:
    store = EvidenceStore(tmp_path)
    metadata = {
        "attachments": [
            {"kind": "image", "data": base64.b64encode(_png()).decode()},
            {"kind": "image", "data": base64.b64encode(b"%PDF-1.4 not a photo").decode()},
            {"kind": "video", "data": "AAAA"},
        ],
        "client": "widget",
    }
    out = ingest(metadata, store)
    assert out["client"] == "widget"
    first, pdf, video = out["attachments"]
    assert "data" not in first and first["content_type"] == "image/png" and (first["width"], first["height"]) == (8, 6)
    stored = store.path_for(first["sha256"])
    assert stored is not None and hashlib.sha256(stored.read_bytes()).hexdigest() == first["sha256"]
    assert first["size"] == stored.stat().st_size
    assert pdf == {"kind": "image", "error": "not_an_image"}
    assert video == {"kind": "video", "error": "unsupported_kind"}
    refs = references(out)
    assert [r.error for r in refs] == [None, "not_an_image", "unsupported_kind"]
    assert refs[0] == PhotoRef(first["sha256"], first["size"], "image/png")


def test_client_cannot_smuggle_a_reference_in(tmp_path) -> None:
    forged = {"attachments": [{"kind": "image", "sha256": "a" * 64, "size": 10, "content_type": "image/png"}]}
    out = ingest(forged, EvidenceStore(tmp_path))
    assert out["attachments"] == [{"kind": "image", "error": "empty"}]
    assert not any(tmp_path.iterdir())


def test_metadata_without_attachments_is_untouched(tmp_path) -> None:
    store = EvidenceStore(tmp_path)
    for metadata in (None, {}, {"x": 1}, "text"):
        assert ingest(metadata, store) == metadata


def test_references_refuse_anything_malformed() -> None:
    assert references(None) == [] and references({}) == []
    assert references({"attachments": "x"}) == [PhotoRef(error="malformed")]
    bad = [
        "x",
        {"sha256": "A" * 64, "size": 5, "content_type": "image/png"},
        {"sha256": "a" * 64, "size": 0, "content_type": "image/png"},
        {"sha256": "a" * 64, "size": 5, "content_type": "text/html"},
        {"error": "rm -rf"},
    ]
    assert [r.error for r in references({"attachments": bad})] == ["malformed"] * 5
    assert references({"attachments": [{"error": "too_large"}]})[0].problem().code == "too_large"


def test_refused_photos_are_neither_decoded_nor_stored(tmp_path) -> None:
    store = EvidenceStore(tmp_path)
    metadata = {"attachments": [{"kind": "image", "data": base64.b64encode(_png()).decode()},
                                {"kind": "image", "data": "@@not base64@@"}]}  # fmt: skip
    out = ingest(metadata, store, refuse="outside_claim")
    assert out["attachments"] == [{"kind": "image", "error": "outside_claim"},
                                  {"kind": "image", "error": "bad_encoding"}]  # fmt: skip
    assert not any(tmp_path.iterdir())
    problem = references(out)[0].problem()
    assert problem is not None and "理赔" in problem.message("zh") and "claim" in problem.message("en")
    assert ingest(metadata, store, refuse="slow_down")["attachments"][0]["error"] == "slow_down"


def test_refusing_with_an_unknown_code_is_a_programming_error(tmp_path) -> None:
    import pytest

    with pytest.raises(ValueError):
        ingest({"attachments": []}, EvidenceStore(tmp_path), refuse="nope")
