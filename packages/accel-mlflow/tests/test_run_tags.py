import json
import subprocess

from accel.mlflow.run_tags import git_tags, host_tags, override_tags, version_tags


def _git(repo, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def test_git_tags_hold_commit_and_dirty_state(tmp_path):
    _git(tmp_path, "init", "-q")
    (tmp_path / "f.txt").write_text("a")
    _git(tmp_path, "add", "f.txt")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x")
    clean = git_tags(tmp_path)
    assert len(clean["git.commit"]) == 40
    assert clean["git.dirty"] == "false"
    (tmp_path / "f.txt").write_text("b")
    assert git_tags(tmp_path)["git.dirty"] == "true"


def test_git_tags_are_empty_outside_a_repository(tmp_path):
    assert git_tags(tmp_path) == {}


def test_version_and_host_tags():
    versions = version_tags()
    assert "versions.accel-mlflow" in versions
    assert "versions.mlflow" in versions
    assert host_tags()["host.name"]


def test_overrides_are_one_json_list():
    tags = override_tags(["optimizer.lr=0.1", "model=mlp"])
    assert json.loads(tags["accel.overrides"]) == ["optimizer.lr=0.1", "model=mlp"]
    assert override_tags(None) == {}
