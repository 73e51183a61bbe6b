"""Papers on clearly different topics, for the tests of search by meaning."""

from __future__ import annotations

TOPICS = {
    "draft": (
        "VIA-SD: Verification via Intra-Model Routing for Speculative Decoding",
        "A small draft model proposes several tokens that the large model verifies in one "
        "pass, which makes generation faster.",
    ),
    "robots": (
        "Revisiting Articulated Parts Perception in Robot Manipulation",
        "Robots open drawers, doors and cabinets by perceiving their joints.",
    ),
    "speech": (
        "KazEmoTTS: A Dataset for Kazakh Emotional Text-to-Speech Synthesis",
        "Recordings of speakers voicing sentences in six emotions for speech synthesis.",
    ),
}
