"""Sections other apps add to the account's pages, so accounts imports nothing of theirs.

The profile page shows storage against the quota and the notification choices, a team's page
how many jobs and datasets the team has: those belong to jobs, which adds them when it loads
(jobs/apps.py). A section is a template of the adding app, rendered with the context its
function returns for this request (and the page's objects, such as the team); a page shows its
sections at the places it names, in the order they were added.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

ContextFunction = Callable[..., dict[str, Any]]  # (request, **the page's objects) -> context


@dataclass(frozen=True)
class Section:
    place: str  # where on the page, e.g. "top" or "bottom" of the profile
    template: str
    context: ContextFunction


_sections: dict[str, list[Section]] = defaultdict(list)


def add_section(page: str, *, place: str, template: str, context: ContextFunction) -> None:
    """Show `template` on `page` ("profile", "team") at `place`; adding it twice keeps one."""
    section = Section(place=place, template=template, context=context)
    if section not in _sections[page]:
        _sections[page].append(section)


def render_sections(page: str, request: HttpRequest, **objects: Any) -> dict[str, list[SafeString]]:
    """{place: [HTML of each section there]} for one request to `page`."""
    rendered: dict[str, list[SafeString]] = defaultdict(list)
    for section in _sections[page]:
        context = {**objects, **section.context(request, **objects)}
        rendered[section.place].append(render_to_string(section.template, context, request))
    return dict(rendered)
