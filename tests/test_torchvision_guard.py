"""A broken torchvision (CUDA build beside CPU torch) must not break TrOCR."""

import os
import subprocess
import sys
import textwrap


def broken_torchvision(root):
    package = root / "torchvision"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        'raise RuntimeError("operator torchvision::nms does not exist")\n')
    meta = root / "torchvision-0.29.2.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text("Metadata-Version: 2.1\nName: torchvision\nVersion: 0.29.2\n")
    return root


def run(code: str, path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(path), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=env, timeout=300)


def test_trocr_works_beside_a_broken_torchvision(tmp_path, tiny_model_dir, line_images):
    path = broken_torchvision(tmp_path / "site")
    image = tmp_path / "line.png"
    line_images[0].save(image)

    # The failure this guards against: transformers alone cannot load the model class.
    bare = run("from transformers import VisionEncoderDecoderModel", path)
    assert bare.returncode != 0 and "VisionEncoderDecoderModel" in bare.stderr

    guarded = run(f"""
        from trocr_plugin.engine import Engine
        from trocr_plugin.engine import _imports
        result = Engine({tiny_model_dir!r}).recognize([{str(image)!r}])[0]
        assert result.ok, result.error
        assert "nms" in _imports.TORCHVISION_BROKEN
        print("read:", repr(result.text))
    """, path)
    assert guarded.returncode == 0, guarded.stderr
    assert "read:" in guarded.stdout and "torchvision is installed but broken" in guarded.stderr
