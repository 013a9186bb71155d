"""Loading a TrOCR model and decoding batches of line images with it (the torch side).

Confidence (documented in the README):
- token confidence = p(token) = exp(log_softmax(logits)[token]) at the step that emitted it
  (after the same logit processing generate() applies, e.g. min_new_tokens);
- line confidence = exp(mean of the log-probabilities of the generated tokens, the closing
  </s> included), i.e. the geometric mean of the token probabilities, in [0, 1];
- beam search: the same over the tokens of each returned beam; `score` is the beam score
  (sum of log-probs / length ** length_penalty) as transformers ranks beams.
Embedding: the mean of the encoder's last hidden states over all patch positions,
L2-normalised.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ModelNotAvailableError
from ._imports import (
    AutoImageProcessor,
    AutoTokenizer,
    BaseModelOutput,
    DynamicCache,
    EncoderDecoderCache,
    VisionEncoderDecoderModel,
    torch,
    transformers,
)

log = logging.getLogger("trocr_plugin")

_TRANSFORMERS_MAJOR = int(transformers.__version__.split(".")[0])

DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "float16": torch.float16,
    "fp16": torch.float16,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
}


@dataclass(frozen=True)
class DecodeOptions:
    """How to decode. Lines with different options never share a batch."""

    num_beams: int = 1
    num_return_sequences: int = 1  # n-best alternatives, at most num_beams
    length_penalty: float = 1.0
    max_new_tokens: int = 256  # transformers' default max_length is 20: far too short for a line
    min_new_tokens: int = 0  # benchmarks force equal work; leave 0 for real use
    return_tokens: bool = True
    return_embedding: bool = False

    def __post_init__(self) -> None:
        if self.num_beams < 1:
            raise ValueError(f"num_beams must be >= 1, got {self.num_beams}")
        if not 1 <= self.num_return_sequences <= self.num_beams:
            raise ValueError(
                f"num_return_sequences must be between 1 and num_beams ({self.num_beams}), "
                f"got {self.num_return_sequences}"
            )
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if not 0 <= self.min_new_tokens <= self.max_new_tokens:
            raise ValueError(
                f"min_new_tokens must be between 0 and max_new_tokens, got {self.min_new_tokens}"
            )


@dataclass
class Decoded:
    """The raw result of decoding one line, before it becomes a Recognition."""

    token_ids: list[int]
    token_logprobs: list[float]
    alternatives: list[tuple[list[int], float, list[float]]] = field(default_factory=list)
    embedding: list[float] | None = None


def select_device(device: str | None) -> str:
    if device in (None, "", "auto"):
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return "mps"
        return "cpu"
    try:
        torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"unknown device {device!r} ({err})") from err
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but CUDA is not available here")
    return device


def select_dtype(dtype: str | None, device: str) -> str:
    if dtype in (None, "", "auto"):
        if device.startswith("cuda"):
            return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        return "float32"
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; choose one of {sorted(set(DTYPES))} or auto")
    name = str(DTYPES[dtype]).removeprefix("torch.")
    if name == "float16" and device == "cpu":
        raise ValueError("float16 on CPU is slow and inexact; use bfloat16 or float32")
    return name


def _looks_like_path(model: str) -> bool:
    """A local directory, existing or meant: hub ids are "name" or "org/name"."""
    return (
        Path(model).expanduser().exists()
        or model.startswith((".", "/", "~"))
        or model.count("/") > 1
        or "\\" in model
    )


def _not_available(model: str, reason: str) -> ModelNotAvailableError:
    return ModelNotAvailableError(
        f"cannot load the TrOCR model {model!r}: {reason}. Provide a model in one of these "
        "ways: pass a local directory saved with save_pretrained (--model DIR, or model=DIR "
        "in Python); set TROCR_PLUGIN_MODEL to such a directory or to a hub id; or, on a "
        f"machine with network, put it into the Hugging Face cache (`hf download {model}`) "
        "and keep HF_HUB_OFFLINE=1 to use the cache offline."
    )


def load_model(model: str, device: str, dtype: str):
    """Load model, image processor and tokenizer through from_pretrained. Safetensors only."""
    if _looks_like_path(model):
        path = Path(model).expanduser()
        if not path.is_dir():
            raise _not_available(model, "no such directory")
        if not any(path.glob("*.safetensors")):
            found = ", ".join(sorted(p.name for p in path.iterdir())[:8]) or "nothing"
            raise _not_available(
                model,
                f"the directory holds no .safetensors weights (found: {found}); trocr-plugin "
                "never loads pickled weights (.bin/.pt); convert them with save_pretrained("
                "safe_serialization=True)",
            )
        model = str(path)
    dtype_kw = "dtype" if _TRANSFORMERS_MAJOR >= 5 else "torch_dtype"
    kwargs = {"use_safetensors": True, dtype_kw: DTYPES[dtype]}
    try:
        try:
            net = VisionEncoderDecoderModel.from_pretrained(model, attn_implementation="sdpa", **kwargs)
        except (ValueError, ImportError) as err:  # an encoder or decoder without SDPA support
            log.info("SDPA attention not available for %s (%s); using the default", model, err)
            net = VisionEncoderDecoderModel.from_pretrained(model, **kwargs)
        backend = {"backend": "pil"} if _TRANSFORMERS_MAJOR >= 5 else {"use_fast": False}
        processor = AutoImageProcessor.from_pretrained(model, trust_remote_code=False, **backend)
        tokenizer = AutoTokenizer.from_pretrained(model, trust_remote_code=False)
    except OSError as err:
        offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")
        where = (
            "it is not in the local Hugging Face cache and HF_HUB_OFFLINE is set"
            if offline
            else "it could not be found locally or downloaded"
        )
        raise _not_available(model, f"{where} ({str(err).splitlines()[0]})") from err
    net.to(device).eval()
    # The shipped TrOCR configs switch the KV cache off; decoding without it recomputes
    # every earlier position at every step.
    net.config.decoder.use_cache = True
    net.generation_config.use_cache = True
    return net, processor, tokenizer


class TrOCRRunner:
    """Runs batches of preprocessed line images through one loaded model."""

    def __init__(self, model, processor, tokenizer, device: str, dtype: str):
        self.model = model
        self.processor = processor
        self.tokenizer = tokenizer
        self.device = torch.device(device)
        self.dtype = DTYPES[dtype]
        gen = model.generation_config
        cfg = model.config
        self.start_id = _first(gen.decoder_start_token_id, cfg.decoder_start_token_id,
                               cfg.decoder.decoder_start_token_id, cfg.decoder.bos_token_id)
        self.eos_id = _first(gen.eos_token_id, cfg.eos_token_id, cfg.decoder.eos_token_id)
        self.pad_id = _first(gen.pad_token_id, cfg.pad_token_id, cfg.decoder.pad_token_id)
        if isinstance(self.eos_id, list):
            self.eos_id = self.eos_id[0]
        if self.start_id is None or self.eos_id is None:
            raise ModelNotAvailableError(
                "the model's config names no decoder_start_token_id or eos_token_id"
            )
        self.max_positions = getattr(cfg.decoder, "max_position_embeddings", 512)
        # Our greedy loop (which drops finished lines from the batch) equals generate() only
        # when the generation config adds no logit processing of its own; else use generate().
        self.fast_greedy = _plain_generation_config(gen)

    def preprocess(self, image) -> torch.Tensor:
        """One RGB PIL image -> its pixel tensor (C, H, W), as the model's processor makes it."""
        return self.processor(images=image, return_tensors="pt").pixel_values[0]

    @torch.inference_mode()
    def run(self, pixels: list[torch.Tensor], opts: DecodeOptions) -> list[Decoded]:
        batch = torch.stack(pixels).to(self.device, self.dtype, non_blocking=True)
        max_new = min(opts.max_new_tokens, self.max_positions - 1)
        encoded = self.model.encoder(pixel_values=batch).last_hidden_state
        if opts.num_beams == 1 and self.fast_greedy:
            results = self._greedy(encoded, max_new, opts.min_new_tokens)
        else:
            results = self._generate(encoded, max_new, opts)
        if opts.return_embedding:
            pooled = torch.nn.functional.normalize(encoded.float().mean(dim=1), dim=-1)
            for result, vector in zip(results, pooled.cpu().tolist(), strict=True):
                result.embedding = vector
        return results

    def _greedy(self, encoded, max_new: int, min_new: int) -> list[Decoded]:
        """Greedy decoding with the KV cache; a line that emits </s> leaves the batch."""
        n = encoded.shape[0]
        results = [Decoded([], []) for _ in range(n)]
        active = list(range(n))
        cache = EncoderDecoderCache(DynamicCache(), DynamicCache())
        ids = torch.full((n, 1), self.start_id, dtype=torch.long, device=self.device)
        for step in range(max_new):
            out = self.model(
                encoder_outputs=BaseModelOutput(last_hidden_state=encoded),
                decoder_input_ids=ids,
                past_key_values=cache,
                use_cache=True,
            )
            cache = out.past_key_values
            logits = out.logits[:, -1, :].float()
            if step < min_new:
                logits[:, self.eos_id] = -math.inf
            logprobs, tokens = torch.log_softmax(logits, dim=-1).max(dim=-1)
            token_list = tokens.tolist()  # one device sync per step serves every check below
            for row, token, logprob in zip(active, token_list, logprobs.tolist(), strict=True):
                results[row].token_ids.append(token)
                results[row].token_logprobs.append(logprob)
            keep_rows = [i for i, token in enumerate(token_list) if token != self.eos_id]
            if not keep_rows:
                break
            if len(keep_rows) < len(token_list):
                keep = torch.tensor(keep_rows, device=self.device)
                cache.batch_select_indices(keep)
                encoded = encoded.index_select(0, keep)
                tokens = tokens.index_select(0, keep)
                active = [active[i] for i in keep_rows]
            ids = tokens[:, None]
        return results

    def _generate(self, encoded, max_new: int, opts: DecodeOptions) -> list[Decoded]:
        """Beam search (or greedy with a non-plain generation config) through generate()."""
        out = self.model.generate(
            encoder_outputs=BaseModelOutput(last_hidden_state=encoded),
            num_beams=opts.num_beams,
            num_return_sequences=opts.num_return_sequences,
            length_penalty=opts.length_penalty,
            max_new_tokens=max_new,
            min_new_tokens=opts.min_new_tokens,
            output_scores=True,
            return_dict_in_generate=True,
            use_cache=True,
        )
        beam_indices = getattr(out, "beam_indices", None) if opts.num_beams > 1 else None
        transition = self.model.compute_transition_scores(
            out.sequences, out.scores, beam_indices, normalize_logits=opts.num_beams == 1
        ).float().cpu()
        sequences = out.sequences[:, 1:].cpu()  # drop the decoder start token
        scores = getattr(out, "sequences_scores", None)
        k = opts.num_return_sequences
        results = []
        for line in range(encoded.shape[0]):
            alternatives = []
            for j in range(line * k, (line + 1) * k):
                ids, logps = _trim(sequences[j].tolist(), transition[j].tolist(), self.eos_id,
                                   self.pad_id)
                score = float(scores[j]) if scores is not None else sum(logps)
                alternatives.append((ids, score, logps))
            best_ids, _, best_logps = alternatives[0]
            results.append(Decoded(best_ids, best_logps, alternatives if k > 1 else []))
        return results


def _trim(ids: list[int], logps: list[float], eos: int, pad: int | None):
    """Cut a generated row after its </s> (generate() pads finished rows)."""
    for i, token in enumerate(ids):
        if token == eos:
            return ids[: i + 1], logps[: i + 1]
    n = len(ids)
    while n and pad is not None and ids[n - 1] == pad and pad != eos:
        n -= 1
    return ids[:n], logps[:n]


def _first(*values):
    for value in values:
        if value is not None:
            return value
    return None


def _plain_generation_config(gen) -> bool:
    """True when generate()'s greedy path would apply no logit processor of its own."""
    checks = {
        "repetition_penalty": 1.0,
        "no_repeat_ngram_size": 0,
        "encoder_no_repeat_ngram_size": 0,
        "bad_words_ids": None,
        "forced_bos_token_id": None,
        "forced_eos_token_id": None,
        "suppress_tokens": None,
        "begin_suppress_tokens": None,
        "sequence_bias": None,
        "do_sample": False,
        "renormalize_logits": False,
        "exponential_decay_length_penalty": None,
        "min_length": 0,
        "min_new_tokens": 0,
    }
    for name, plain in checks.items():
        value = getattr(gen, name, plain)
        if value is not None and value != plain:
            return False
    return True
