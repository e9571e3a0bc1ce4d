"""Building render requests for engine tests the way the planner does."""

from __future__ import annotations

from pathlib import Path

from ttsbuild.engines import RenderRequest, get_engine
from ttsbuild.planning.key import derive_seed


def make_request(
    engine_name: str,
    text: str,
    voice_file: Path,
    *,
    language: str = "en",
    seed: int | None = None,
    reference_text: str = "",
    **params: float,
) -> RenderRequest:
    """A fully resolved request: the engine's parameter defaults, overridden by ``params``."""
    engine = get_engine(engine_name)
    voice = engine.voice(str(voice_file), reference_text, str(voice_file.parent))
    specs = engine.info.param_specs()
    resolved = {name: spec.resolve(params.get(name)) for name, spec in specs.items()}
    resolved.pop("seed")
    model = engine.info.default_model
    return RenderRequest(
        text=text,
        engine=engine_name,
        engine_version=engine.version(),
        model=model,
        language=language,
        voice=voice,
        params=tuple(sorted(resolved.items())),
        seed=seed if seed is not None else derive_seed(text, engine_name, model, language),
    )


def render_concurrently(model: object, requests: list[RenderRequest]) -> list[bytes]:
    """Render each request in its own thread, all starting at once; the samples' bytes."""
    import threading

    results: dict[int, bytes] = {}
    barrier = threading.Barrier(len(requests))

    def work(i: int) -> None:
        barrier.wait()
        results[i] = model.synthesize(requests[i]).samples.tobytes()  # type: ignore[attr-defined]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [results[i] for i in range(len(requests))]
