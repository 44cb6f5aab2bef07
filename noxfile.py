"""Sessions that check the workspace: lint, types, tests per package, builds, benchmarks.

`uv run nox` runs the default list (what CI runs). Per-package sessions sync their own venv
from the lock with only that package (plus accel-core) and its test group: this is how the
à-la-carte promise is checked rather than assumed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from functools import partial
from pathlib import Path
from typing import Any

import nox

ROOT = Path(__file__).parent
PACKAGES = [
    "accel-core", "accel-cv", "accel-compress", "accel-cli", "accel-mlflow", "accel-tabular",
    "accel-serve",
]  # fmt: skip
SOURCES = [f"packages/{p}/src" for p in PACKAGES]

nox.options.default_venv_backend = "uv"
nox.options.error_on_missing_interpreters = True
nox.options.sessions = [
    "lint",
    "typecheck",
    *(f"test-{p}" for p in PACKAGES),
    "integration",
    "build",
]


def uv_run(session: nox.Session, *args: str, **kwargs: Any) -> None:
    """Run a command in the workspace's dev environment (the locked `.venv`)."""
    session.run("uv", "run", "--locked", "--all-packages", *args, external=True, **kwargs)


# Tests run in two worker processes (CI has 2 cores and most tests use one thread), a test
# file's tests on one worker (its module fixtures built once); tests marked `serial` (they
# time things or measure the machine's load) run afterwards, alone.
PARALLEL = ("-n", "2", "--dist", "loadfile", "-m", "not serial")
NO_TESTS = 5  # pytest's exit code when a selection holds no test


def pytest_runs(run: Any, session: nox.Session, *paths: str) -> None:
    """`pytest PATHS` in parallel, then its `serial` tests alone (`run` is session.run or
    uv_run's equivalent)."""
    run("pytest", *paths, *PARALLEL, *session.posargs)
    run("pytest", *paths, "-m", "serial", *session.posargs, success_codes=[0, NO_TESTS])


@nox.session(venv_backend="none")
def lint(session: nox.Session) -> None:
    """ruff lint + format check, and import-linter's package-independence contracts."""
    uv_run(session, "ruff", "check", ".")
    uv_run(session, "ruff", "format", "--check", ".")
    uv_run(session, "lint-imports")


@nox.session(venv_backend="none")
def typecheck(session: nox.Session) -> None:
    """mypy over the sources of every package."""
    uv_run(session, "mypy", *SOURCES)


@nox.session(venv_backend="none")
def tests(session: nox.Session) -> None:
    """Every test of every package plus the cross-package integration tests, in one env."""
    pytest_runs(partial(uv_run, session), session, "packages", "tests")


@nox.session(venv_backend="none")
def integration(session: nox.Session) -> None:
    """Cross-package end-to-end tests (CLI + cv + compress + mlflow together)."""
    pytest_runs(partial(uv_run, session), session, "tests")


def _package_session(package: str) -> None:
    @nox.session(name=f"test-{package}")
    def test_package(session: nox.Session) -> None:
        env = {"UV_PROJECT_ENVIRONMENT": session.virtualenv.location}
        session.run_install(
            "uv", "sync", "--locked", "--package", package,
            "--no-default-groups", "--group", "test", env=env,
        )  # fmt: skip
        installed = _accel_distributions(session)
        expected = {"accel-core", package}
        if installed != expected:
            session.error(f"{package} venv holds {sorted(installed)}, not {sorted(expected)}")
        pytest_runs(session.run, session, f"packages/{package}/tests")

    test_package.__doc__ = f"{package}'s tests with only {package} and accel-core installed."


for _package in PACKAGES:
    _package_session(_package)


# A program with a dynamic batch (what `accel compress` takes) and calibration inputs, written
# into the folder argv[1] by the session's own venv.
SLIM_MODEL = """
import sys, numpy, torch
net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten(), torch.nn.Linear(144, 10))
batch = torch.export.Dim("batch", min=1)
program = torch.export.export(net.eval(), (torch.rand(2, 3, 8, 8),), dynamic_shapes=({0: batch},))
torch.export.save(program, f"{sys.argv[1]}/model.pt2")
numpy.save(f"{sys.argv[1]}/calib.npy", numpy.random.rand(8, 3, 8, 8).astype("float32"))
"""
OPTIONAL = ("onnx", "onnxruntime", "onnxscript", "torchao", "openvino", "nncf", "matplotlib")


def _check_slim_compress(
    session: nox.Session, venv: Path, wheels: dict[str, Path], constraints: Path
) -> None:
    """The accel-compress wheel without extras (what `pip install accel-compress` gives):
    none of the optional toolchains is there, `--quantize int8` says in one line to install
    `[ort]` (non-zero exit, no traceback, for a `.pt2` and for an `.onnx` model); with `[ort]`
    added, the same command writes the int8 ONNX model."""
    python, accel = str(venv / "bin" / "python"), venv / "bin" / "accel"
    present = _importable(session, OPTIONAL, python)
    if present:
        session.error(f"the slim install holds optional packages: {present}")
    tmp = venv.parent / "slim-compress"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    model, out = tmp / "model.pt2", tmp / "out"
    session.run(python, "-c", SLIM_MODEL, str(tmp), external=True)
    (tmp / "model.onnx").write_bytes(b"not read: the hint comes first")
    int8 = ["--quantize", "int8", "--calib-data", str(tmp / "calib.npy"), "--repeats", "1"]
    int8 += ["-q", "-o", str(out)]
    for source in (model, tmp / "model.onnx"):
        _expect_hint(session, accel, [str(source), *int8], "pip install 'accel-compress[ort]'")
    session.run(
        "uv", "pip", "install", "--quiet", "--python", python, "--constraint", str(constraints),
        f"{wheels['accel-compress']}[ort]", external=True, env={"UV_COMPILE_BYTECODE": "0"},
    )  # fmt: skip
    session.run(str(accel), "compress", str(model), *int8, external=True)
    if not (out / "model.onnx").is_file():
        session.error(f"accel compress with [ort] wrote no {out / 'model.onnx'}")
    session.log("accel-compress: the slim wheel says what to install; with [ort] it runs")


def _expect_hint(session: nox.Session, accel: Path, args: list[str], hint: str) -> None:
    """`accel compress ARGS` fails with exactly one stderr line ending in `hint`."""
    done = subprocess.run([str(accel), "compress", *args], capture_output=True, text=True)
    lines = done.stderr.strip().splitlines()
    session.log(done.stderr.strip())
    if done.returncode == 0 or len(lines) != 1 or not lines[0].endswith(hint):
        session.error(f"expected exit != 0, one line ending {hint!r}; got {done.returncode}")


def _importable(session: nox.Session, modules: tuple[str, ...], python: str) -> list[str]:
    """Those of `modules` the venv of `python` could import."""
    code = f"import json, importlib.util as u; print(json.dumps([*filter(u.find_spec, {modules})]))"
    out = session.run(python, "-c", code, silent=True, external=True)
    return list(json.loads(str(out).strip().splitlines()[-1]))


def _accel_distributions(session: nox.Session, python: str = "python") -> set[str]:
    code = (
        "import json, importlib.metadata as m; print(json.dumps(sorted({d.metadata['Name'] "
        "for d in m.distributions() if d.metadata['Name'].startswith('accel-')})))"
    )
    out = session.run(python, "-c", code, silent=True, external=True)
    return set(json.loads(str(out).strip().splitlines()[-1]))


@nox.session
def build(session: nox.Session) -> None:
    """Wheels + sdists of every package; each wheel installed alone with accel-core and checked
    (accel-compress's also without extras: it says what to install, and runs with `[ort]`)."""
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    session.run("uv", "build", "--all-packages", "--out-dir", str(dist), external=True)
    wheels = {p: _one(dist.glob(f"{p.replace('-', '_')}-*.whl")) for p in PACKAGES}
    sdists = [_one(dist.glob(f"{p.replace('-', '_')}-*.tar.gz")) for p in PACKAGES]
    session.log(f"built {len(wheels)} wheels and {len(sdists)} sdists in {dist}")
    constraints = dist / "constraints.txt"
    session.run(
        "uv", "export", "--locked", "--all-packages", "--no-emit-workspace", "--no-hashes",
        "--no-dev", "--format", "requirements-txt", "--output-file", str(constraints),
        external=True, silent=True,
    )  # fmt: skip
    for package in PACKAGES:
        _check_wheel_alone(session, package, wheels, constraints)


def _check_wheel_alone(
    session: nox.Session, package: str, wheels: dict[str, Path], constraints: Path
) -> None:
    """Install `package` + accel-core (+ accel-cli for the command) from wheels in a fresh venv."""
    venv = Path(session.create_tmp()) / f"alone-{package}"
    shutil.rmtree(venv, ignore_errors=True)
    session.run("uv", "venv", "--quiet", str(venv), external=True)
    python = str(venv / "bin" / "python")
    chosen = {"accel-core", package, "accel-cli"}
    session.run(
        "uv", "pip", "install", "--quiet", "--python", python, "--constraint", str(constraints),
        *(str(wheels[p]) for p in sorted(chosen)), external=True,
        env={"UV_COMPILE_BYTECODE": "0"},  # an import check needs no .pyc of torch
    )  # fmt: skip
    session.run(python, "-c", f"import accel.{package.removeprefix('accel-')}", external=True)
    listed = subprocess.run(
        [str(venv / "bin" / "accel"), "registry", "list"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    owners = {line.split()[-1] for line in listed.splitlines()[1:] if line.strip()}
    expected = {p for p in chosen if _declares_accel_entry_points(wheels[p])}
    if owners != expected:
        session.error(f"{package}: registry lists {sorted(owners)}, expected {sorted(expected)}")
    session.log(f"{package}: wheel works alone; registry lists {sorted(owners)}")
    if package == "accel-compress":
        _check_slim_compress(session, venv, wheels, constraints)


def _declares_accel_entry_points(wheel: Path) -> bool:
    """Whether a wheel registers anything in an `accel.*` entry-point group."""
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")]
        text = archive.read(names[0]).decode() if names else ""
    return "[accel." in text


def _one(paths: object) -> Path:
    found = sorted(paths)  # type: ignore[call-overload]
    if len(found) != 1:
        raise RuntimeError(f"expected one file, found {found}")
    return Path(found[0])


@nox.session(venv_backend="none")
def bench(session: nox.Session) -> None:
    """Side-by-side benchmarks (ratios, JSON): every script in benchmarks/, or those named."""
    scripts = session.posargs or sorted(str(p) for p in (ROOT / "benchmarks").glob("*.py"))
    for script in scripts:
        uv_run(session, "python", script)


if __name__ == "__main__":
    sys.exit("run with: uv run nox")
