"""Clients and parsers for the outside systems papers come from.

Everything that talks HTTP to Hugging Face or arXiv lives here; the rest of the project
sees plain `PaperRecord`s.
"""
