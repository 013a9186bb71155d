"""The engine equals plain model.generate, line for line, whatever the batching."""

import math
import random
import threading

import pytest

from trocr_plugin.engine import DecodeOptions, Engine, clear_engines, get_engine
from trocr_plugin.errors import ModelNotAvailableError
from trocr_plugin.images import load_image


def reference(engine, image, **generate_kwargs):
    """What transformers' own generate() reads, one line at a time."""
    pixels = engine.runner.preprocess(load_image(image))[None]
    out = engine.runner.model.generate(pixels, output_scores=True, return_dict_in_generate=True,
                                       **generate_kwargs)
    texts = engine.runner.tokenizer.batch_decode(out.sequences, skip_special_tokens=True)
    return [t.strip() for t in texts], out


def test_model_loads_with_kv_cache_on(engine, tiny_model_dir):
    assert engine.model_id == tiny_model_dir
    assert engine.runner.model.config.decoder.use_cache is True  # saved with it off
    assert engine.device == "cpu" and engine.dtype == "float32"


@pytest.mark.parametrize("batch_size", [1, 3, 8])
def test_greedy_equals_generate_for_any_batching(engine, line_images, batch_size):
    engine.max_batch_size = batch_size
    order = list(range(len(line_images)))
    random.Random(batch_size).shuffle(order)
    images = [line_images[i] for i in order]
    results = engine.recognize(images, DecodeOptions(max_new_tokens=40))
    lengths = {len(r.tokens) for r in results}
    assert len(lengths) > 2, "the fixture model should end lines at varied lengths"
    for image, result in zip(images, results, strict=True):
        texts, _ = reference(engine, image, max_new_tokens=40)
        assert result.ok and result.text == texts[0]
    engine.max_batch_size = 4


def test_beam_search_equals_generate_with_n_best(engine, line_images):
    options = DecodeOptions(num_beams=4, num_return_sequences=3, length_penalty=0.8,
                            max_new_tokens=30)
    results = engine.recognize(line_images[:6], options)
    for image, result in zip(line_images[:6], results, strict=True):
        texts, out = reference(engine, image, num_beams=4, num_return_sequences=3,
                               length_penalty=0.8, max_new_tokens=30)
        assert [a.text for a in result.alternatives] == texts
        assert result.text == texts[0]
        for alt, score in zip(result.alternatives, out.sequences_scores.tolist(), strict=True):
            assert alt.score == pytest.approx(score, abs=1e-4)
            assert 0.0 <= alt.confidence <= 1.0


def test_confidence_is_geometric_mean_of_token_probabilities(engine, line_images):
    results = engine.recognize(line_images, DecodeOptions(max_new_tokens=40))
    for r in results:
        assert 0.0 <= r.confidence <= 1.0
        assert all(0.0 <= t.confidence <= 1.0 for t in r.tokens)
        geometric = math.exp(sum(math.log(t.confidence) for t in r.tokens) / len(r.tokens))
        assert r.confidence == pytest.approx(geometric, rel=1e-6)
        assert r.tokens[-1].token_id == engine.runner.eos_id or len(r.tokens) == 40


def test_forced_length_makes_equal_work(engine, line_images):
    results = engine.recognize(line_images[:4], DecodeOptions(min_new_tokens=12,
                                                              max_new_tokens=12))
    assert [len(r.tokens) for r in results] == [12] * 4


def test_embeddings_are_normalised_and_deterministic(engine, line_images):
    first = engine.embed(line_images[:3])
    again = engine.embed([line_images[1]])
    assert len(first[0]) == engine.runner.model.config.encoder.hidden_size
    assert math.isclose(sum(v * v for v in first[0]), 1.0, rel_tol=1e-5)
    assert again[0] == pytest.approx(first[1], abs=1e-5)
    assert first[0] != pytest.approx(first[1], abs=1e-3)


def test_eight_threads_each_get_their_own_results(engine, line_images):
    expected = {i: r.text for i, r in enumerate(engine.recognize(line_images))}
    engine.max_batch_size = 8
    before = engine.stats
    barrier = threading.Barrier(8)
    got: dict[int, list] = {}

    def worker(t: int) -> None:
        rng = random.Random(t)
        mine = [rng.randrange(len(line_images)) for _ in range(10)]
        barrier.wait()
        got[t] = (mine, engine.recognize([line_images[i] for i in mine]))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    engine.max_batch_size = 4
    assert sorted(got) == list(range(8))
    for mine, results in got.values():
        assert [r.text for r in results] == [expected[i] for i in mine]
    lines = engine.stats["lines"] - before["lines"]
    batches = engine.stats["batches"] - before["batches"]
    assert lines == 80 and batches < lines / 2, "lines of different threads share batches"


def test_a_bad_image_in_a_batch_does_not_stop_the_others(engine, line_images, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    results = engine.recognize([line_images[0], str(bad), line_images[1]])
    assert results[0].ok and results[2].ok
    assert not results[1].ok and str(bad) in results[1].error and results[1].source == str(bad)
    assert results[0].text == engine.recognize([line_images[0]])[0].text


def test_get_engine_shares_one_engine_per_settings(tiny_model_dir, monkeypatch):
    try:
        first = get_engine(tiny_model_dir, device="cpu")
        assert get_engine(tiny_model_dir, device="auto", dtype="float32") is first
        monkeypatch.setenv("TROCR_PLUGIN_MODEL", tiny_model_dir)
        assert get_engine() is first  # the environment variable names the default model
    finally:
        clear_engines()


def test_missing_local_model_says_how_to_provide_one(tmp_path):
    with pytest.raises(ModelNotAvailableError) as err:
        Engine(str(tmp_path / "nowhere"))
    message = str(err.value)
    assert "nowhere" in message and "TROCR_PLUGIN_MODEL" in message and "no such directory" in message


def test_hub_model_offline_without_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(ModelNotAvailableError) as err:
        Engine("microsoft/trocr-base-handwritten")
    message = str(err.value)
    assert "microsoft/trocr-base-handwritten" in message and "HF_HUB_OFFLINE" in message


def test_pickled_weights_are_refused(tmp_path, tiny_model_dir):
    import shutil

    target = tmp_path / "pickled"
    shutil.copytree(tiny_model_dir, target)
    for weights in target.glob("*.safetensors"):
        weights.rename(weights.with_name("pytorch_model.bin"))
    with pytest.raises(ModelNotAvailableError, match="safetensors"):
        Engine(str(target))


def test_invalid_options_are_refused():
    with pytest.raises(ValueError, match="num_return_sequences"):
        DecodeOptions(num_beams=2, num_return_sequences=3)
    with pytest.raises(ValueError, match="max_new_tokens"):
        DecodeOptions(max_new_tokens=0)
