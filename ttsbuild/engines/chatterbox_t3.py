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
    included when generated). The steps are :class:`_Generation`'s methods.
    """
    import torch

    gen = _Generation(t3, rows)
    try:
        gen.attach_analyzers()
        positions = (gen.mask.cumsum(-1) - 1).clamp(min=0) if gen.padded else None
        logits, cache = gen.forward(gen.embeds, None, gen.mask if gen.padded else None, positions)
        active = list(range(len(rows)))  # request index of each remaining pair of rows
        step = 0
        while active:
            next_tokens = [gen.sample(logits, slot, i, step) for slot, i in enumerate(active)]
            step += 1
            keep = [
                slot
                for slot, i in enumerate(active)
                if int(next_tokens[slot].view(-1)[0]) != t3.hp.stop_speech_token
                and step < rows[i].max_new_tokens
            ]
            if not keep:
                break
            if len(keep) < len(active):  # finished requests leave the batch and the cache
                gen.drop_finished(cache, keep)
                active = [active[s] for s in keep]
                next_tokens = [next_tokens[s] for s in keep]
            logits, cache = gen.next_step(torch.cat(next_tokens), cache, step)
        return [torch.cat(tokens, dim=1)[0] for tokens in gen.predicted]
    finally:
        for handle in gen.spies:
            handle.remove()


class _Generation:
    """The state of one batched T3 generation, and its steps (split out of one loop ported
    from ``T3.inference``; the order of every operation is the upstream one)."""

    def __init__(self, t3: Any, rows: Sequence[_Row]):
        import torch
        from transformers.generation.logits_process import (
            MinPLogitsWarper,
            RepetitionPenaltyLogitsProcessor,
            TopPLogitsWarper,
        )

        self.t3, self.rows, self.hp, self.device = t3, rows, t3.hp, t3.device
        self.lengths = [int(r.embeds.size(1)) for r in rows]
        self.longest = max(self.lengths)
        self.padded = any(n != self.longest for n in self.lengths)
        self.embeds = torch.cat(
            [
                torch.nn.functional.pad(r.embeds, (0, 0, self.longest - n, 0))
                for r, n in zip(rows, self.lengths)
            ]
        )
        # per transformer row (two per request): 1 for a real position, 0 for left padding
        self.mask = torch.cat(
            [
                torch.cat([torch.zeros(2, self.longest - n), torch.ones(2, n)], dim=1)
                for n in self.lengths
            ]
        ).to(device=self.device, dtype=torch.long)
        self.analyzers: list[Any] = [None] * len(rows)
        self.attention: dict[int, Any] = {}
        self.spies: list[Any] = []
        self.aligned_heads: Any = ()
        self.multilingual = bool(self.hp.is_multilingual)
        self.generated = [
            torch.tensor([[self.hp.start_speech_token]], dtype=torch.long, device=self.device)
            for _ in rows
        ]
        self.predicted: list[list[Any]] = [[] for _ in rows]
        self.processors = [
            (
                RepetitionPenaltyLogitsProcessor(
                    penalty=float(r.request.param("repetition_penalty", 1.2))
                ),
                MinPLogitsWarper(min_p=r.request.param("min_p", 0.05)),
                TopPLogitsWarper(top_p=r.request.param("top_p", 1.0)),
            )
            for r in rows
        ]

    def attach_analyzers(self) -> None:
        """Multilingual: an alignment analyzer per request, fed by one spy hook per layer."""
        if not self.multilingual:
            return
        from chatterbox.models.t3.inference.alignment_stream_analyzer import (
            LLAMA_ALIGNED_HEADS,
            AlignmentStreamAnalyzer,
        )

        t3, hp = self.t3, self.hp
        self.aligned_heads = LLAMA_ALIGNED_HEADS
        for i, row in enumerate(self.rows):
            with _no_leaked_hooks(t3):  # one hook per layer below feeds every analyzer
                self.analyzers[i] = AlignmentStreamAnalyzer(
                    t3.tfmr,
                    None,
                    text_tokens_slice=row.text_slice,
                    alignment_layer_idx=9,
                    eos_idx=hp.stop_speech_token,
                )
        attention = self.attention
        for layer_idx in sorted({layer for layer, _ in LLAMA_ALIGNED_HEADS}):

            def spy(module: Any, args: Any, output: Any, layer_idx: int = layer_idx) -> None:
                if isinstance(output, tuple) and len(output) > 1 and output[1] is not None:
                    attention[layer_idx] = output[1]

            self.spies.append(t3.tfmr.layers[layer_idx].self_attn.register_forward_hook(spy))

    def forward(self, inputs: Any, cache: Any, step_mask: Any, positions: Any) -> tuple[Any, Any]:
        out = self.t3.tfmr(
            inputs_embeds=inputs,
            past_key_values=cache,
            attention_mask=step_mask,
            position_ids=positions,
            use_cache=True,
            output_attentions=self.multilingual,
            return_dict=True,
        )
        return self.t3.speech_head(out.last_hidden_state)[:, -1, :], out.past_key_values

    def feed_analyzer(self, i: int, slot: int, first: bool) -> None:
        pad = self.longest - self.lengths[i]
        for k, (layer_idx, head_idx) in enumerate(self.aligned_heads):
            attn = self.attention[layer_idx][2 * slot, head_idx]  # (queries, keys) of the cond row
            self.analyzers[i].last_aligned_attns[k] = (
                attn[pad:, pad:] if first else attn[:, pad:]
            ).cpu()

    def sample(self, logits: Any, slot: int, i: int, step: int) -> Any:
        """One request's next token: CFG, analyzer, penalty, temperature, min-p, top-p, then a
        draw from its own generator."""
        import torch

        row, p = self.rows[i], self.rows[i].request.param
        cond, uncond = logits[2 * slot : 2 * slot + 1], logits[2 * slot + 1 : 2 * slot + 2]
        cfg = torch.as_tensor(p("cfg_weight", 0.5), device=cond.device, dtype=cond.dtype)
        row_logits = cond + cfg * (cond - uncond)
        if self.analyzers[i] is not None:
            self.feed_analyzer(i, slot, step == 0)
            last = self.generated[i][0, -1].item()
            row_logits = self.analyzers[i].step(row_logits, next_token=last)
        penalty, min_p, top_p = self.processors[i]
        ids: Any = self.generated[i][:1, ...]
        row_logits = penalty(ids, row_logits)
        temperature = p("temperature", 0.8)
        if temperature != 1.0:
            row_logits = row_logits / temperature
        row_logits = top_p(ids, min_p(ids, row_logits))
        probs = torch.softmax(row_logits, dim=-1)
        token = torch.multinomial(probs, num_samples=1, generator=row.generator)
        self.predicted[i].append(token)
        self.generated[i] = torch.cat([self.generated[i], token], dim=1)
        return token

    def drop_finished(self, cache: Any, keep: list[int]) -> None:
        """Keep only the CFG row pairs of the requests still generating, in the cache too."""
        import torch

        index = torch.tensor(
            [2 * s + k for s in keep for k in (0, 1)], dtype=torch.long, device=self.device
        )
        cache.reorder_cache(index)
        self.mask = self.mask.index_select(0, index)

    def next_step(self, token_ids: Any, cache: Any, step: int) -> tuple[Any, Any]:
        """Embed the tokens just drawn (B, 1) and run the transformer one step on them."""
        import torch

        t3 = self.t3
        step_embeds = t3.speech_emb(token_ids) + t3.speech_pos_emb.get_fixed_embedding(step)
        step_embeds = step_embeds.repeat_interleave(2, dim=0)  # each request's CFG pair
        self.mask = torch.cat([self.mask, torch.ones_like(self.mask[:, :1])], dim=1)
        if self.padded:
            step_positions = self.mask[:, :-1].sum(-1, keepdim=True)
            return self.forward(step_embeds, cache, self.mask, step_positions)
        return self.forward(step_embeds, cache, None, None)
