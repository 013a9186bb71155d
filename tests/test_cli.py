"""The trocr-plugin command, run as a user runs it: a real subprocess on a saved tiny model."""

import json
import os
import subprocess
import sys

import pytest

from trocr_plugin.cli import main


def run_cli(*args, env=None):
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "DO_NOT_TRACK": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "trocr_plugin.cli", *args], capture_output=True,
                          text=True, env=environment, timeout=300)


@pytest.fixture
def line_files(tmp_path, line_images):
    paths = []
    for i, image in enumerate(line_images[:5]):
        path = tmp_path / f"line{i}.png"
        image.save(path)
        paths.append(str(path))
    return paths


def test_recognize_json_one_object_per_image(tiny_model_dir, line_files, engine):
    done = run_cli("recognize", *line_files, "--model", tiny_model_dir, "--json")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["file"] for r in rows] == line_files
    expected = engine.recognize(line_files)
    for row, want in zip(rows, expected, strict=True):
        assert row["text"] == want.text and row["model"] == tiny_model_dir
        assert 0.0 <= row["confidence"] <= 1.0


def test_recognize_reads_the_model_from_the_environment(tiny_model_dir, line_files, capsys,
                                                        monkeypatch):
    monkeypatch.setenv("TROCR_PLUGIN_MODEL", tiny_model_dir)
    assert main(["recognize", line_files[0], "--json", "--num-beams", "3", "--n-best", "2",
                 "--tokens"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["model"] == tiny_model_dir and len(row["alternatives"]) == 2 and row["tokens"]


def test_recognize_reports_bad_files_and_reads_the_rest(tiny_model_dir, line_files, tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("just text")
    done = run_cli("recognize", line_files[0], str(bad), line_files[1], "--model",
                   tiny_model_dir, "--json")
    assert done.returncode == 1
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["file"] for r in rows] == [line_files[0], str(bad), line_files[1]]
    assert "error" not in rows[0] and "not an image file" in rows[1]["error"]
    assert "1 of 3 images could not be read" in done.stderr


def test_missing_model_is_a_clear_error(line_files, tmp_path):
    done = run_cli("recognize", line_files[0], "--model", str(tmp_path / "absent"))
    assert done.returncode == 2
    assert "absent" in done.stderr and "TROCR_PLUGIN_MODEL" in done.stderr
    assert "Traceback" not in done.stderr


def test_eval_reports_cer_wer_confidence_and_speed(tiny_model_dir, line_files, tmp_path, engine,
                                                   capsys):
    truths = ["hello", "a", "handwriting and print", "12/03/2024", "Total: 41.50"]
    manifest = tmp_path / "manifest.tsv"
    manifest.write_text("# image\ttext\n" + "".join(
        f"{os.path.basename(p)}\t{t}\n" for p, t in zip(line_files, truths, strict=True)))
    predictions = tmp_path / "predictions.jsonl"
    assert main(["eval", str(manifest), "--model", tiny_model_dir, "--json",
                 "--predictions", str(predictions)]) == 0
    report = json.loads(capsys.readouterr().out)
    import jiwer

    hypotheses = [r.text for r in engine.recognize(line_files)]
    assert report["lines"] == 5 and report["errors"] == 0 and report["model"] == tiny_model_dir
    assert report["cer"] == pytest.approx(jiwer.cer(truths, hypotheses))
    assert report["wer"] == pytest.approx(jiwer.wer(truths, hypotheses))
    assert 0 <= report["mean_confidence"] <= 1 and report["lines_per_second"] > 0
    rows = [json.loads(line) for line in predictions.read_text().splitlines()]
    assert [r["reference"] for r in rows] == truths


def test_eval_rejects_a_malformed_manifest(tmp_path, capsys):
    manifest = tmp_path / "m.tsv"
    manifest.write_text("a.png\thello\nb.png has no tab\n")
    assert main(["eval", str(manifest)]) == 2
    assert f"{manifest}:2" in capsys.readouterr().err
