"""`.pt2` archives are checked before `torch.export.load`, which unpickles parts of them."""

from __future__ import annotations

import contextlib
import io
import json
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from accel.core.export_archive import ArchiveError, check_export_archive, load_exported_program


class Payload:
    """Unpickling this creates a marker file: what a crafted archive carries."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def pickled(marker: Path) -> bytes:
    buffer = io.BytesIO()
    torch.save(Payload(marker), buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pt2") / "good.pt2"
    model = torch.nn.Sequential(torch.nn.Linear(4, 3))
    torch.export.save(torch.export.export(model, (torch.randn(2, 4),)), str(path))
    return path


def rewrite(source: Path, target: Path, edits: dict[str, Callable[[bytes], bytes]]) -> Path:
    """A copy of a real archive with the members ending in each key replaced."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            for suffix, edit in edits.items():
                if info.filename.endswith(suffix):
                    data = edit(data)
            zout.writestr(info, data)
    return target


def pickled_weight(marker: Path) -> dict[str, Callable[[bytes], bytes]]:
    def use_pickle(data: bytes) -> bytes:
        config = json.loads(data)
        config["config"]["0.weight"]["use_pickle"] = True
        return json.dumps(config).encode()

    return {
        "model_weights_config.json": use_pickle,
        "data/weights/weight_0": lambda _: pickled(marker),
    }


def crafted(program: Path, tmp_path: Path, kind: str, marker: Path) -> Path:
    edits = {
        "sample_inputs": {"data/sample_inputs/model.pt": lambda _: pickled(marker)},
        "weight": pickled_weight(marker),
    }[kind]
    return rewrite(program, tmp_path / f"{kind}.pt2", edits)


@pytest.mark.parametrize("kind", ["sample_inputs", "weight"])
def test_torch_export_load_runs_the_payload(program: Path, tmp_path: Path, kind: str) -> None:
    marker = tmp_path / "pwned"
    path = crafted(program, tmp_path, kind, marker)
    with contextlib.suppress(Exception):  # the payload has run before torch sees it is no tensor
        torch.export.load(str(path))
    assert marker.exists()


@pytest.mark.parametrize(("kind", "member"), [("sample_inputs", "sample_inputs/model.pt"),
                                              ("weight", "weights/weight_0")])  # fmt: skip
def test_accel_refuses_it_in_one_line_whatever_its_name(
    program: Path, tmp_path: Path, kind: str, member: str
) -> None:
    marker = tmp_path / "pwned"
    path = crafted(program, tmp_path, kind, marker)
    renamed = path.rename(path.with_suffix(".pt"))  # found by content, not by name
    with pytest.raises(
        ArchiveError, match=rf"holds data/{member}, .*it calls posix.system"
    ) as info:
        load_exported_program(renamed)
    assert "\n" not in str(info.value)
    assert "--trust-file" in str(info.value)
    assert not marker.exists()


def test_a_clean_program_loads_and_runs(program: Path) -> None:
    module = load_exported_program(program).module()
    assert module(torch.ones(2, 4)).shape == (2, 3)


def test_pickled_custom_objects_and_compiled_code_are_refused(
    program: Path, tmp_path: Path
) -> None:
    def custom(data: bytes) -> bytes:
        config = json.loads(data)
        config["config"]["obj"] = {"path_name": "custom_obj_0", "use_pickle": True}
        return json.dumps(config).encode()

    with_object = rewrite(program, tmp_path / "obj.pt2", {"model_constants_config.json": custom})
    with pytest.raises(ArchiveError, match=r"pickled object for 'obj'"):
        check_export_archive(with_object)
    compiled = tmp_path / "aoti.pt2"
    rewrite(program, compiled, {})
    with zipfile.ZipFile(compiled, "a") as archive:
        archive.writestr("good/data/aotinductor/model/model.so", b"\x7fELF")
    with pytest.raises(ArchiveError, match="compiled native code"):
        check_export_archive(compiled)


def test_not_an_archive_and_an_old_format_are_one_line(tmp_path: Path) -> None:
    text = tmp_path / "model.pt2"
    text.write_text("not a zip")
    with pytest.raises(ArchiveError, match=r"not a readable .pt2 archive"):
        check_export_archive(text)
    legacy = tmp_path / "legacy.pt2"
    with zipfile.ZipFile(legacy, "w") as archive:
        archive.writestr("version", "1.0")
        archive.writestr("serialized_exported_program.json", "{}")
    with pytest.raises(ArchiveError, match=r"not a current torch.export archive"):
        check_export_archive(legacy)


def test_trusting_the_file_skips_the_check(program: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = crafted(program, tmp_path, "sample_inputs", marker)
    with pytest.raises(ArchiveError, match=r"torch.export.load failed"):
        load_exported_program(path, trust=True)  # torch then unpickles the payload itself
    assert marker.exists()
