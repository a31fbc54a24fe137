"""Stands in for the system browser when ``reviewer-app sync`` signs in (set as
``$BROWSER``): loads the platform's login form, posts the demo specialist's credentials,
and follows the redirect to the app's loopback listener, then exits."""

from __future__ import annotations

import sys
from urllib.parse import parse_qs, urlsplit

import httpx


def main(url: str) -> int:
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    with httpx.Client(timeout=30) as browser:
        browser.get(url).raise_for_status()
        answer = browser.post(
            url.split("?", 1)[0], data={**query, "username": "dr.demo", "password": "demo"}
        )
        browser.get(answer.headers["location"]).raise_for_status()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
