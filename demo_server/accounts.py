"""The synthetic specialists who can sign in to the demo server."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Account:
    """A demo login and the Practitioner it signs in as."""

    username: str
    password: str
    practitioner_id: str
    family: str
    given: str
    #: Shown in the signature block and put in the signing certificate (demo values).
    credentials: str = ""
    licence: str = ""

    @property
    def display(self) -> str:
        """How the platform names the specialist."""
        return f"Dr {self.given} {self.family}"


ACCOUNTS = (
    Account(
        "dr.demo", "demo", "spec-1", "Specialist", "Demo", "MD, FRCR, Consultant", "SYN-LIC-70001"
    ),
    Account("dr.other", "demo", "spec-2", "Colleague", "Other", "MD, Consultant", "SYN-LIC-70002"),
)
DEFAULT_OWNER = ACCOUNTS[0].practitioner_id


def by_username(username: str) -> Account | None:
    """The account with this username, if any."""
    return next((a for a in ACCOUNTS if a.username == username), None)


def practitioner_resource(account: Account) -> dict[str, object]:
    """The FHIR Practitioner of a demo account."""
    return {
        "resourceType": "Practitioner",
        "id": account.practitioner_id,
        "identifier": [
            {"system": "https://reviewer.example.org/fhir/username", "value": account.username}
        ],
        "active": True,
        "name": [{"family": account.family, "given": [account.given], "prefix": ["Dr"]}],
    }
