"""Template tags of the evaluation pages: an output beside its reference with the difference
marked, and a job's sample prompts answered at each checkpoint as a table.

Plain Python on strings and dicts, so the job page and the evaluation pages can both load it."""

import re
from difflib import SequenceMatcher

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

# Words, single punctuation marks and runs of white space: "WORDNUM-3:" against "WORDNUM-0:"
# marks the one number that differs, and a missing leading space is marked too.
TOKEN = re.compile(r"\w+|\s+|[^\w\s]")


@register.simple_tag
def diff_marks(output: str, reference: str) -> dict[str, SafeString]:
    """{"output", "reference"} as HTML: the output with what the reference does not have in
    <ins>, the reference with what the output left out in <del>, compared word by word."""
    out, ref = TOKEN.findall(output or ""), TOKEN.findall(reference or "")
    out_html, ref_html = [], []
    for tag, r1, r2, o1, o2 in SequenceMatcher(None, ref, out, autojunk=False).get_opcodes():
        changed = tag != "equal"
        out_html.append(_marked(out[o1:o2], "ins" if changed else ""))
        ref_html.append(_marked(ref[r1:r2], "del" if changed else ""))
    return {"output": mark_safe("".join(out_html)), "reference": mark_safe("".join(ref_html))}


def _marked(tokens: list[str], element: str) -> str:
    text = "".join(tokens)
    if not text or not element:
        return str(escape(text))
    # White space alone would be an invisible mark: the stylesheet shades it instead.
    space = "" if text.strip() else ' class="space"'
    return f"<{element}{space}>{escape(text)}</{element}>"


@register.simple_tag
def sample_grid(samples: dict | None) -> dict:
    """A tuned evaluation's checkpoint_samples as a table: {"steps": [...], "rows": [{"prompt",
    "outputs": [one per step]}]}, a prompt per row and a checkpoint per column."""
    samples = samples or {}
    steps = samples.get("steps") or []
    rows = []
    for i, prompt in enumerate(samples.get("prompts") or []):
        outputs = [s["outputs"][i] if i < len(s.get("outputs", [])) else "" for s in steps]
        rows.append({"prompt": prompt, "outputs": outputs})
    return {"steps": steps, "rows": rows}
