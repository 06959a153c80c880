"""The README's Python examples run, in order, and show what they claim.

The README builds on itself (the Dynamics block uses the ``L`` and ``x0`` of "Ten lines of Python", the double
well example uses the ``theory`` imported before it), so consecutive ```python blocks share one namespace, as
in a reader's session. They run in a temporary directory with matplotlib's Agg backend.

A block whose first line is ``# not run in tests: <reason>`` (an API summary whose arguments are placeholders)
is only compiled, and its import statements run, since later blocks use what it imports. There is no other way
to skip a block. Beyond running, two kinds of claims are checked:

- a block followed by a paragraph reading just "prints" and a plain ``` block must print exactly that text;
- an expression statement followed by a line that is a comment holding a Python literal, e.g.
  ``# [(-0.799, 'maximum', False)]``, must evaluate to that literal.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
SKIP_MARKER = re.compile(r"#\s*not run in tests:(.*)")


@dataclass
class Block:
    first_line: int  # README line number (1-based) of the block's first code line
    code: str
    skip_reason: str | None
    expected_output: str | None  # what the README says the block prints


def fenced_blocks(lines: list[str]) -> list[tuple[str, int, str, str]]:
    """``(language, first code line, code, text before the next fence)`` for each fenced block."""
    blocks, i = [], 0
    while i < len(lines):
        if not lines[i].startswith("```"):
            i += 1
            continue
        language, start = lines[i][3:].strip(), i + 1
        end = start
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        after = end + 1
        following = after
        while following < len(lines) and not lines[following].startswith("```"):
            following += 1
        blocks.append((language, start + 1, "\n".join(lines[start:end]) + "\n", "\n".join(lines[after:following])))
        i = end + 1
    return blocks


def python_blocks(text: str | None = None) -> list[Block]:
    """The README's python blocks (or those of ``text``), in order."""
    lines = (README.read_text(encoding="utf-8") if text is None else text).splitlines()
    fences = fenced_blocks(lines)
    found = []
    for k, (language, first_line, code, text_after) in enumerate(fences):
        if language != "python":
            continue
        marker = SKIP_MARKER.match(code.splitlines()[0].strip()) if code.strip() else None
        expected = None
        if text_after.strip() == "prints" and k + 1 < len(fences) and fences[k + 1][0] == "":
            expected = fences[k + 1][2]
        found.append(Block(first_line, code, marker.group(1).strip() if marker else None, expected))
    return found


def statements(block: Block) -> list[ast.stmt]:
    """The block's statements, numbered by their README lines so a traceback points into README.md."""
    tree = ast.parse(block.code, filename=str(README))
    ast.increment_lineno(tree, block.first_line - 1)
    return tree.body


def literal_comment_after(statement: ast.stmt, readme_lines: list[str], block: Block):
    """The literal in a ``# <literal>`` line right after an expression statement, or None."""
    if not isinstance(statement, ast.Expr):
        return None
    last_code_line = block.first_line + len(block.code.splitlines()) - 1
    if statement.end_lineno >= last_code_line:
        return None
    following = readme_lines[statement.end_lineno].strip()  # the README line after the statement (0-based index)
    if not following.startswith("#"):
        return None
    try:
        return (ast.literal_eval(following[1:].strip()),)
    except (ValueError, SyntaxError):
        return None


def test_every_python_block_is_seen_and_one_at_least_runs():
    """The extraction finds as many python blocks as the README has ```python fences, and at least one of them
    runs (a parser that matched nothing would make the other tests pass vacuously)."""
    blocks = python_blocks()
    fences = [line for line in README.read_text(encoding="utf-8").splitlines() if line.startswith("```python")]
    assert len(blocks) == len(fences) > 0
    assert any(block.skip_reason is None for block in blocks)


def test_skipped_blocks_say_why_and_compile():
    """A block skipped by the marker gives a reason on the marker line, the marker is only honoured on a block's
    first line, and a skipped block is still valid Python."""
    for block in python_blocks():
        if block.skip_reason is None:
            assert "not run in tests" not in block.code, f"README line {block.first_line}: marker must come first"
        else:
            assert block.skip_reason, f"README line {block.first_line}: the marker needs a reason"
            statements(block)


def test_readme_python_blocks_run_and_show_what_they_claim(tmp_path, monkeypatch):
    """Every python block of the README runs in order in one namespace; blocks the README says print something
    print exactly that, and expressions followed by a literal comment evaluate to it."""
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    readme_lines = README.read_text(encoding="utf-8").splitlines()
    namespace: dict = {"__name__": "__readme__"}
    for block in python_blocks():
        body = statements(block)
        if block.skip_reason is not None:
            body = [stmt for stmt in body if isinstance(stmt, (ast.Import, ast.ImportFrom))]
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            for statement in body:
                expected = None if block.skip_reason else literal_comment_after(statement, readme_lines, block)
                if expected is None:
                    exec(compile(ast.Module([statement], []), str(README), "exec"), namespace)
                    continue
                value = eval(compile(ast.Expression(statement.value), str(README), "eval"), namespace)
                assert value == expected[0], f"README line {statement.lineno}: got {value!r}, says {expected[0]!r}"
        if block.expected_output is not None and block.skip_reason is None:
            got = [line.rstrip() for line in printed.getvalue().splitlines()]
            want = [line.rstrip() for line in block.expected_output.splitlines()]
            assert got == want, f"README block at line {block.first_line} printed:\n" + "\n".join(got)


@pytest.mark.parametrize(
    "code, expected",
    [
        ("x = 1\n", None),
        ("# not run in tests: needs a cluster\nx = 1\n", "needs a cluster"),
        ("#not run in tests:   placeholders\n", "placeholders"),
    ],
)
def test_marker_is_read_from_the_first_line(code, expected):
    """The skip marker is recognised on a block's first line with or without a space after '#', and its reason
    is what follows the colon."""
    (block,) = python_blocks("```python\n" + code + "```\n")
    assert block.skip_reason == expected


def test_prints_paragraph_pairs_a_block_with_its_output():
    """A plain fenced block after a paragraph reading "prints" is the expected output of the python block
    before it; any other paragraph in between means no output claim."""
    paired, unpaired = (
        python_blocks(f"```python\nprint(1)\n```\n\n{between}\n\n```\n1\n```\n") for between in ("prints", "gives")
    )
    assert paired[0].expected_output == "1\n" and unpaired[0].expected_output is None
