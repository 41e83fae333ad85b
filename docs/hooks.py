"""MkDocs hooks of this site (mkdocs.yml, ``hooks:``).

A docstring rendered in the API reference is Markdown: a reST role such as ``:class:`Clerk```
would show as the raw text ``:class:`` before the name, and reST's ``text::`` before a code
block as two colons. Each on a built page is a warning, so that ``mkdocs build --strict`` (in
``make test``) fails and names the page.
"""

from __future__ import annotations

import logging
import re
from typing import Any

log = logging.getLogger("mkdocs.plugins.clerk_async_docs")

RAW_ROLE = re.compile(r":(?:func|meth|class|mod|attr|data|exc|obj|ref):(?:<code>|`)")
# reST's "text::" before a literal block: Markdown keeps the colons.
LITERAL_MARK = re.compile(r"::</p>")


def on_page_content(html: str, page: Any, **kwargs: Any) -> str:
    for found in RAW_ROLE.finditer(html):
        context = re.sub(r"<[^>]+>", "", html[found.start() : found.end() + 60])
        log.warning("%s: a raw reST role in a docstring: %r", page.file.src_path, context)
    for found in LITERAL_MARK.finditer(html):
        context = re.sub(r"<[^>]+>", "", html[max(0, found.start() - 60) : found.end()])
        log.warning("%s: reST's '::' before a code block: %r", page.file.src_path, context)
    return html
