"""Every ```python block in README.md and docs/*.md runs (the blocks of one file share a namespace), and a
plain ``` block right after a python block that prints is that block's expected output, so the
documentation cannot rot."""

import contextlib
import io
import linecache
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def blocks(path: pathlib.Path) -> list[tuple[str, str]]:
    """(language, text) of each fenced block, in order."""
    return BLOCK.findall(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_code_blocks_run_and_print_what_the_docs_show(path):
    namespace: dict = {"__name__": f"docs_{path.stem}"}
    found = blocks(path)
    for i, (lang, text) in enumerate(found):
        if lang != "python":
            continue
        needed = re.match(r"# requires: (\w+)\n", text)
        if needed:  # (a page whose examples need an optional package: the rest of it is skipped without it)
            pytest.importorskip(needed.group(1))
        out = io.StringIO()
        filename = f"<docs {path.name} block {i + 1}>"
        linecache.cache[filename] = (len(text), None, text.splitlines(keepends=True), filename)  # autograph reads it
        with contextlib.redirect_stdout(out):
            exec(compile(text, filename, "exec"), namespace)  # noqa: S102
        following = found[i + 1] if i + 1 < len(found) else None
        if out.getvalue() and following is not None and following[0] == "":
            assert out.getvalue().strip() == following[1].strip(), f"{path.name} block {i + 2} is out of date"


def test_readme_has_python_blocks():
    assert any(lang == "python" for lang, _ in blocks(ROOT / "README.md"))


def test_an_outdated_output_block_is_caught(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("```python\nprint(1 + 1)\n```\n\n```\n3\n```\n")
    with pytest.raises(AssertionError, match="out of date"):
        test_code_blocks_run_and_print_what_the_docs_show(doc)
