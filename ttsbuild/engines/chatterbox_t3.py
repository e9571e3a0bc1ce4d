"""Chatterbox's T3 model: its config by checkpoint size, and its token loop for several
requests in one transformer batch.

A line-for-line port of ``T3.inference`` (chatterbox-tts 0.1.7): prompts are left-padded with
an attention mask and per-row positions; classifier-free guidance runs per request (two rows
each), and so do repetition penalty, temperature, min-p/top-p, the multilingual alignment
analyzer and stopping; each request samples from its own seeded ``torch.Generator``, so its
tokens are the same in any batch and the same as ``T3.inference`` gives it alone
(tests/engines/test_batched.py). torch is imported inside the functions only.

Imports: core only (and torch/transformers/chatterbox at call time).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from ttsbuild.core.errors import EngineError
from ttsbuild.core.request import RenderRequest


def t3_config(
    multilingual: bool, layers: int | None = None, intermediate: int | None = None
) -> Any:
    """The ``T3Config`` for a checkpoint, sized by its transformer depth and MLP width.

    Released checkpoints have the upstream size (``Llama_520M``) and get the upstream config
    unchanged. A checkpoint with another depth or width (a distilled model, or the tiny random
    checkpoints the tests build) gets a named variant in Chatterbox's ``LLAMA_CONFIGS`` table,
    the table ``T3`` reads its backbone size from.
    """
    from chatterbox.models.t3.llama_configs import LLAMA_CONFIGS
    from chatterbox.models.t3.modules.t3_config import T3Config

    hp = T3Config.multilingual() if multilingual else T3Config.english_only()
    base = LLAMA_CONFIGS[hp.llama_config_name]
    layers = layers or base["num_hidden_layers"]
    intermediate = intermediate or base["intermediate_size"]
    if (layers, intermediate) != (base["num_hidden_layers"], base["intermediate_size"]):
        name = f"{hp.llama_config_name}_L{layers}_I{intermediate}"
        LLAMA_CONFIGS.setdefault(
            name, {**base, "num_hidden_layers": layers, "intermediate_size": intermediate}
        )
        hp.llama_config_name = name
    return hp


def _t3_config_from_state(state: dict[str, Any], multilingual: bool) -> Any:
    prefix = "tfmr.layers."
    indices = {int(k[len(prefix) :].split(".")[0]) for k in state if k.startswith(prefix)}
    if not indices:
        raise EngineError("chatterbox: the T3 checkpoint has no transformer layers (tfmr.layers.*)")
    intermediate = int(state[f"{prefix}0.mlp.gate_proj.weight"].shape[0])
    return t3_config(multilingual, max(indices) + 1, intermediate)


def seed_everything(seed: int) -> None:
    """Seed every RNG that sampling touches (Python, NumPy, torch on all devices)."""
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@contextmanager
def _no_leaked_hooks(t3: Any) -> Iterator[None]:
    """Remove the attention hooks one multilingual ``T3.inference`` call leaves behind.

    chatterbox-tts 0.1.7 builds a fresh ``AlignmentStreamAnalyzer`` per call, which registers
    forward hooks on three attention layers and never removes them, so every later call runs
    (and copies attention maps for) all earlier calls' hooks: a build slows down line by line.
    """
    modules = [layer.self_attn for layer in getattr(t3.tfmr, "layers", [])]
    before = [set(m._forward_hooks) for m in modules]
    try:
        yield
    finally:
        for module, keep in zip(modules, before):
            for hook_id in [h for h in module._forward_hooks if h not in keep]:
                del module._forward_hooks[hook_id]


@dataclass
class _Row:
    """One request's state in a batched T3 generation."""

    request: RenderRequest
    cond: Any  # the adapter's per-voice conditioning (speaker embedding, prompt tokens)
    embeds: Any  # (2, T, dim): the CFG pair's prompt embeddings (conditional, unconditional)
    text_slice: tuple[int, int]  # where the text tokens sit in the prompt (alignment analyzer)
    generator: Any  # torch.Generator seeded with the request's seed: its own sampling stream
    max_new_tokens: int


def generate_speech_tokens(t3: Any, rows: Sequence[_Row]) -> list[Any]:
    """``T3.inference`` (chatterbox-tts 0.1.7) for several requests at once.

    Each request keeps two rows (conditional and unconditional, as ``T3.inference`` runs
    classifier-free guidance), so a batch of B requests is a transformer batch of 2B. Prompts
    of different lengths are left-padded, with an attention mask and per-row position ids, so a
    row's tokens sit at the positions they have alone. After the forward pass everything is per
    request, exactly as ``T3.inference`` does it on its batch of one: CFG with the request's
    weight, the multilingual alignment analyzer (its own instance, fed the request's own
    attention rows), repetition penalty, temperature, min-p, top-p, and sampling from the
    request's own ``torch.Generator``. A request stops at its stop token or its
    ``max_new_tokens``; finished requests leave the batch (their rows leave the KV cache).
    A batch of one runs the upstream computation unchanged (no mask, default positions).

    Returns, per row, the predicted tokens as ``T3.inference(...)[0]`` does (stop token
    included when generated).
    """
    import torch
    from transformers.generation.logits_process import (
        MinPLogitsWarper,
        RepetitionPenaltyLogitsProcessor,
        TopPLogitsWarper,
    )

    device = t3.device
    hp = t3.hp
    lengths = [int(r.embeds.size(1)) for r in rows]
    longest = max(lengths)
    padded = any(n != longest for n in lengths)
    embeds = torch.cat(
        [torch.nn.functional.pad(r.embeds, (0, 0, longest - n, 0)) for r, n in zip(rows, lengths)]
    )
    # per transformer row (two per request): 1 for a real position, 0 for left padding
    mask = torch.cat(
        [torch.cat([torch.zeros(2, longest - n), torch.ones(2, n)], dim=1) for n in lengths]
    ).to(device=device, dtype=torch.long)

    analyzers: list[Any] = [None] * len(rows)
    attention: dict[int, Any] = {}
    spies: list[Any] = []
    multilingual = bool(hp.is_multilingual)
    if multilingual:
        from chatterbox.models.t3.inference.alignment_stream_analyzer import (
            LLAMA_ALIGNED_HEADS,
            AlignmentStreamAnalyzer,
        )

        for i, row in enumerate(rows):
            with _no_leaked_hooks(t3):  # one hook per layer below feeds every analyzer
                analyzers[i] = AlignmentStreamAnalyzer(
                    t3.tfmr,
                    None,
                    text_tokens_slice=row.text_slice,
                    alignment_layer_idx=9,
                    eos_idx=hp.stop_speech_token,
                )
        for layer_idx in sorted({layer for layer, _ in LLAMA_ALIGNED_HEADS}):

            def spy(module: Any, args: Any, output: Any, layer_idx: int = layer_idx) -> None:
                if isinstance(output, tuple) and len(output) > 1 and output[1] is not None:
                    attention[layer_idx] = output[1]

            spies.append(t3.tfmr.layers[layer_idx].self_attn.register_forward_hook(spy))

    def forward(inputs: Any, cache: Any, step_mask: Any, positions: Any) -> tuple[Any, Any]:
        out = t3.tfmr(
            inputs_embeds=inputs,
            past_key_values=cache,
            attention_mask=step_mask,
            position_ids=positions,
            use_cache=True,
            output_attentions=multilingual,
            return_dict=True,
        )
        return t3.speech_head(out.last_hidden_state)[:, -1, :], out.past_key_values

    def feed_analyzer(i: int, slot: int, first: bool) -> None:
        pad = longest - lengths[i]
        for k, (layer_idx, head_idx) in enumerate(LLAMA_ALIGNED_HEADS):
            attn = attention[layer_idx][2 * slot, head_idx]  # (queries, keys) of the cond row
            analyzers[i].last_aligned_attns[k] = (
                attn[pad:, pad:] if first else attn[:, pad:]
            ).cpu()

    try:
        positions = (mask.cumsum(-1) - 1).clamp(min=0) if padded else None
        logits, cache = forward(embeds, None, mask if padded else None, positions)
        active = list(range(len(rows)))  # request index of each remaining pair of rows
        generated = [
            torch.tensor([[hp.start_speech_token]], dtype=torch.long, device=device) for _ in rows
        ]
        predicted: list[list[Any]] = [[] for _ in rows]
        processors = [
            (
                RepetitionPenaltyLogitsProcessor(
                    penalty=float(r.request.param("repetition_penalty", 1.2))
                ),
                MinPLogitsWarper(min_p=r.request.param("min_p", 0.05)),
                TopPLogitsWarper(top_p=r.request.param("top_p", 1.0)),
            )
            for r in rows
        ]
        step = 0
        while active:
            next_tokens = []
            for slot, i in enumerate(active):
                row, p = rows[i], rows[i].request.param
                cond, uncond = logits[2 * slot : 2 * slot + 1], logits[2 * slot + 1 : 2 * slot + 2]
                cfg = torch.as_tensor(p("cfg_weight", 0.5), device=cond.device, dtype=cond.dtype)
                row_logits = cond + cfg * (cond - uncond)
                if analyzers[i] is not None:
                    feed_analyzer(i, slot, step == 0)
                    last = generated[i][0, -1].item()
                    row_logits = analyzers[i].step(row_logits, next_token=last)
                penalty, min_p, top_p = processors[i]
                ids: Any = generated[i][:1, ...]
                row_logits = penalty(ids, row_logits)
                temperature = p("temperature", 0.8)
                if temperature != 1.0:
                    row_logits = row_logits / temperature
                row_logits = top_p(ids, min_p(ids, row_logits))
                probs = torch.softmax(row_logits, dim=-1)
                token = torch.multinomial(probs, num_samples=1, generator=row.generator)
                predicted[i].append(token)
                generated[i] = torch.cat([generated[i], token], dim=1)
                next_tokens.append(token)
            step += 1
            keep = [
                slot
                for slot, i in enumerate(active)
                if int(next_tokens[slot].view(-1)[0]) != hp.stop_speech_token
                and step < rows[i].max_new_tokens
            ]
            if not keep:
                break
            if len(keep) < len(active):  # finished requests leave the batch and the cache
                index = torch.tensor(
                    [2 * s + k for s in keep for k in (0, 1)], dtype=torch.long, device=device
                )
                cache.reorder_cache(index)
                mask = mask.index_select(0, index)
                active = [active[s] for s in keep]
                next_tokens = [next_tokens[s] for s in keep]
            token_ids = torch.cat(next_tokens)  # (B, 1)
            step_embeds = t3.speech_emb(token_ids) + t3.speech_pos_emb.get_fixed_embedding(step)
            step_embeds = step_embeds.repeat_interleave(2, dim=0)  # each request's CFG pair
            mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
            if padded:
                step_positions = mask[:, :-1].sum(-1, keepdim=True)
                logits, cache = forward(step_embeds, cache, mask, step_positions)
            else:
                logits, cache = forward(step_embeds, cache, None, None)
        return [torch.cat(tokens, dim=1)[0] for tokens in predicted]
    finally:
        for handle in spies:
            handle.remove()
