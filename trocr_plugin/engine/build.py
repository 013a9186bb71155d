"""Build TrOCR models from configs with random weights, and tokenizers offline.

For tests and benchmarks (the hub is not reachable everywhere): the result is saved with
save_pretrained and loaded back through the same from_pretrained path as a real model.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ._imports import VisionEncoderDecoderConfig, VisionEncoderDecoderModel, torch

SPECIAL_TOKENS = ["<s>", "<pad>", "</s>", "<unk>"]  # ids 0..3, as in TrOCR's tokenizers
CHARSET = (
    " abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:!?'\"-()/&%$#@+*=_"
)


def build_tokenizer(vocab_size: int | None = None):
    """A byte-level BPE tokenizer like TrOCR's RoBERTa one, built without any download.

    Its vocabulary is one token per character of CHARSET (other characters read as <unk>);
    with vocab_size larger than that, filler tokens pad it out to a real model's size.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS)}
    byte_map = pre_tokenizers.ByteLevel.alphabet()
    for ch in CHARSET:
        # ByteLevel maps a space to "Ġ"; encode every character the way the pre-tokenizer does
        mapped = "Ġ" if ch == " " else ch
        if mapped in byte_map or mapped == "Ġ":
            vocab.setdefault(mapped, len(vocab))
    if vocab_size is not None:
        if vocab_size < len(vocab):
            raise ValueError(f"vocab_size {vocab_size} is below the base vocabulary {len(vocab)}")
        for i in range(len(vocab), vocab_size):
            vocab[f"<extra_{i}>"] = i
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
        unk_token="<unk>",
    )


def tiny_config(vocab_size: int, image_size: int = 32, patch_size: int = 8, init_std: float = 0.02):
    """A small ViT encoder + TrOCR decoder: the real architecture at toy size."""
    from transformers import TrOCRConfig, ViTConfig

    encoder = ViTConfig(
        image_size=image_size, patch_size=patch_size, num_channels=3, hidden_size=32,
        num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        initializer_range=init_std,
    )
    decoder = TrOCRConfig(
        vocab_size=vocab_size, d_model=32, decoder_layers=2, decoder_attention_heads=2,
        decoder_ffn_dim=64, max_position_embeddings=128, cross_attention_hidden_size=32,
        init_std=init_std,
        bos_token_id=0, pad_token_id=1, eos_token_id=2, decoder_start_token_id=2,
        use_cache=False, layernorm_embedding=True, use_learned_position_embeddings=True,
        tie_word_embeddings=False,  # tied, a random decoder just echoes its input token
    )
    config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder)
    config.tie_word_embeddings = False
    return config


def random_model(config, seed: int = 0, logit_scale: float = 1.0, eos_bias: float = 0.0):
    """A VisionEncoderDecoderModel with random weights from a fixed seed.

    logit_scale sharpens the output distribution (random models are nearly uniform, where
    tiny float differences flip the argmax); eos_bias makes </s> likelier so lines end at
    varied lengths, as real ones do.
    """
    torch.manual_seed(seed)
    config.decoder_start_token_id = config.decoder.decoder_start_token_id
    config.pad_token_id = config.decoder.pad_token_id
    config.eos_token_id = config.decoder.eos_token_id
    model = VisionEncoderDecoderModel(config=config)
    with torch.no_grad():
        proj = model.decoder.output_projection.weight
        proj.mul_(logit_scale)
        if eos_bias:
            _bias_eos(model, config, eos_bias)
    model.generation_config.decoder_start_token_id = config.decoder_start_token_id
    model.generation_config.eos_token_id = config.eos_token_id
    model.generation_config.pad_token_id = config.pad_token_id
    model.generation_config.bos_token_id = config.decoder.bos_token_id
    model.generation_config.use_cache = False  # as the shipped TrOCR configs
    return model.eval()


def _bias_eos(model, config, strength: float) -> None:
    """Point the </s> output row along the decoder's mean hidden state, so that </s> scores
    about `strength` times the typical top logit: likely, but not at every step."""
    enc = config.encoder
    pixels = torch.randn(4, enc.num_channels, enc.image_size, enc.image_size)
    ids = torch.randint(4, config.decoder.vocab_size, (4, 12))
    ids[:, 0] = config.decoder_start_token_id
    out = model(pixel_values=pixels, decoder_input_ids=ids, output_hidden_states=True)
    hidden = out.decoder_hidden_states[-1].reshape(-1, out.decoder_hidden_states[-1].shape[-1])
    direction = hidden.mean(dim=0)
    top = out.logits.max(dim=-1).values.mean()
    model.decoder.output_projection.weight[config.eos_token_id] = (
        direction / direction.norm() ** 2 * top * strength
    )


def save_model(model, tokenizer, directory: str | os.PathLike, image_size: int | None = None,
               preprocessor: dict | None = None) -> Path:
    """save_pretrained (safetensors) + tokenizer + a ViT preprocessor config, like a hub repo."""
    directory = Path(directory)
    model.save_pretrained(directory, safe_serialization=True)
    tokenizer.save_pretrained(directory)
    size = image_size or model.config.encoder.image_size
    config = preprocessor or {
        "do_normalize": True, "do_resize": True, "do_rescale": True,
        "image_processor_type": "ViTImageProcessor", "image_mean": [0.5, 0.5, 0.5],
        "image_std": [0.5, 0.5, 0.5], "resample": 2, "rescale_factor": 1 / 255,
        "size": {"height": size, "width": size},
    }
    (directory / "preprocessor_config.json").write_text(json.dumps(config, indent=2))
    return directory
