"""A paper as Markdown, for `/papers/<id>.md`."""

from __future__ import annotations

from papers.models import Paper


def paper_as_markdown(paper: Paper, *, url: str) -> str:
    """Title, authors, dates, abstract, AI summary and links as a Markdown document."""
    lines = [f"# {paper.title}", ""]
    if paper.authors:
        lines += [f"**Authors:** {', '.join(paper.author_names)}", ""]
    if paper.published_at:
        lines.append(f"**Published on arXiv:** {paper.published_at:%Y-%m-%d}")
    lines += [f"**Listed:** {paper.listed_on:%Y-%m-%d}", f"**Upvotes:** {paper.votes}", ""]
    lines += ["## Abstract", "", paper.abstract or "(no abstract)", ""]
    if paper.ai_summary:
        lines += ["## AI summary", "", paper.ai_summary, ""]
    if paper.ai_keywords:
        lines += ["**Keywords:** " + ", ".join(paper.ai_keywords), ""]
    lines += ["## Links", "", f"- Paper page: {url}", f"- arXiv: {paper.arxiv_url}"]
    lines.append(f"- PDF: {paper.pdf_url}")
    if paper.github_repo:
        stars = f" ({paper.github_stars} stars)" if paper.github_stars is not None else ""
        lines.append(f"- Code: {paper.github_repo}{stars}")
    if paper.project_page:
        lines.append(f"- Project page: {paper.project_page}")
    return "\n".join(lines) + "\n"
