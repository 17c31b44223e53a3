"""Text-reading benchmark (issue 5): latency of ``custodes.triage.reading.read``.

Builds a few thousand escalation-like texts of 200-2000 characters in English, Spanish and
Portuguese (seeded, assembled from sentences written here — not the simulator's phrases),
warms up on texts of each language (lingua's models and the lexicons load lazily), then
times each ``read()`` call and prints p50/p90/p99/max in milliseconds, per length band and overall.

    uv run python -m benchmarks.triage_text                 # 3000 texts
    uv run python -m benchmarks.triage_text --texts 10000 --seed 7
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import time

from custodes.triage.reading import read

SENTENCES = {
    "en": [
        "We received a report from a trusted flagger about the account below.",
        "The user says her former partner threatened to kill her tonight.",
        "Screenshots are attached and the post is still live at https://example.org/p/88123.",
        "There is no immediate danger according to the local police.",
        'He wrote "I know where you live" under several of her photos.',
        "The account appears to belong to a 15 year old and receives explicit messages.",
        "Multiple accounts posted the same message within a few minutes.",
        "The page runs a fake giveaway and asks for card numbers.",
        "Please action this before the court order deadline on Friday.",
        "Our team could not confirm the claims made in the article.",
    ],
    "es": [
        "Recibimos una denuncia de la fiscalía sobre el perfil indicado.",
        "La víctima dice que el sujeto le va a disparar esta noche.",
        "Adjuntamos capturas de pantalla y el enlace a la publicación.",
        "Según la madre, la niña de 13 años recibió mensajes sexuales.",
        "No hay ningún menor en las imágenes, todos son adultos.",
        "Publicaron su dirección y el nombre del colegio de sus hijos.",
        "Es una estafa con inversión falsa que promete ganancias rápidas.",
        "Le escribió «si no pagas, subo tus fotos» por mensaje directo.",
        "Pedimos la retirada del contenido en el plazo indicado.",
        "El medio publicó una nota sobre el caso esta mañana.",
    ],
    "pt": [
        "Recebemos um ofício judicial da vara criminal sobre o perfil abaixo.",
        "A vítima relata que ele disse que vai matar a família dela hoje à noite.",
        "Prints em anexo e o link da publicação original.",
        "Não há ameaça no vídeo, trata-se de uma cena de novela.",
        "O perfil aplica golpe do pix com sorteio falso.",
        "Estão divulgando o endereço dela e fotos da sua casa.",
        "Segundo a mãe, a menina tem 12 anos e recebeu pedidos de nudes.",
        "Várias contas publicaram a mesma mensagem em poucos minutos.",
        "A imprensa pediu posicionamento até amanhã às 10h.",
        "O usuário pede desculpas e diz que não vai repetir.",
    ],
}


def make_texts(n: int, seed: int) -> list[str]:
    """``n`` texts, lengths uniform in 200-2000 characters, languages in turn."""
    rng = random.Random(seed)
    languages = list(SENTENCES)
    texts = []
    for i in range(n):
        pool = SENTENCES[languages[i % len(languages)]]
        target = rng.randint(200, 2000)
        parts: list[str] = []
        while sum(len(p) + 1 for p in parts) < target:
            parts.append(rng.choice(pool))
        texts.append(" ".join(parts)[:target])
    return texts


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    texts = make_texts(args.texts, args.seed)
    start = time.perf_counter()
    for text in texts[:30]:  # every language: lingua loads each model on first use
        read(text)
    warmup = time.perf_counter() - start
    timings: list[tuple[int, float]] = []
    for text in texts:
        t0 = time.perf_counter_ns()
        read(text)
        timings.append((len(text), (time.perf_counter_ns() - t0) / 1e6))
    print(f"machine: {platform.machine()}, python {platform.python_version()}")
    print(
        f"texts: {len(texts)} (200-2000 chars, en/es/pt), seed {args.seed}; warm-up {warmup:.2f} s"
    )
    print(f"{'chars':>11} {'n':>6} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    bands = [(200, 700), (700, 1400), (1400, 2001), (200, 2001)]
    for low, high in bands:
        values = [ms for size, ms in timings if low <= size < high]
        if not values:
            continue
        label = f"{low}-{min(high, 2000)}" if (low, high) != (200, 2001) else "all"
        print(
            f"{label:>11} {len(values):>6} {statistics.median(values):>8.3f} "
            f"{percentile(values, 0.90):>8.3f} {percentile(values, 0.99):>8.3f} {max(values):>8.3f}"
        )


if __name__ == "__main__":
    main()
