"""The REST API under /api/, on top of every app.

- urls: the URLconf, mounted at /api/ by config/urls.py.
- papers: the paper endpoints, Hugging Face-compatible reads and our own.
- accounts: who a token belongs to (ours, and Hugging Face's whoami-v2).
- hf_shapes: Hugging Face's response shapes; serializers: ours and every input.
- errors: the one error shape, `{"error": "..."}`.
"""
