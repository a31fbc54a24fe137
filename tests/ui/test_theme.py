"""The themes' style sheets: every file they name exists wherever the app is installed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ui import theme


@pytest.mark.parametrize("choice", list(theme.Theme))
def test_every_url_in_a_theme_names_a_file_that_exists(choice: theme.Theme) -> None:
    text = theme.stylesheet(choice)
    assert "@ICONS@" not in text
    for url in re.findall(r"url\(([^)]*)\)", text):
        path = Path(url.strip("'\""))
        assert path.is_absolute(), url
        assert path.is_file(), url
