"""Synthetic people: the patient of a case and the practitioners who wrote to us.

Family names are literally "Testpatient" / "Testdoctor" and identifiers start with
"SYN-", so nobody can mistake a demo record for a real one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from demo_server.synth.ids import rng

PATIENT_ID_SYSTEM = "https://reviewer.example/fhir/sid/synthetic-patient"
PRACTITIONER_ID_SYSTEM = "https://reviewer.example/fhir/sid/synthetic-practitioner"

# fmt: off
_GIVEN_FEMALE = (
    "Aurora", "Beatrix", "Clementine", "Dagny", "Elodie", "Fenna", "Greta", "Hedda",
    "Ines", "Juno", "Liv", "Mirabel", "Nora", "Ottilie", "Petra", "Rosalind",
)
_GIVEN_MALE = (
    "Alpha", "Bruno", "Caspar", "Dorian", "Emil", "Felix", "Gustav", "Hugo",
    "Ivo", "Jasper", "Linus", "Magnus", "Nils", "Oskar", "Quentin", "Rufus",
)
_PRACTITIONER_GIVEN = ("Sibylle", "Tobias", "Ursula", "Viktor", "Wanda", "Xaver", "Yara")
_STREETS = ("Sample Street", "Example Road", "Placeholder Lane", "Fictive Avenue")
# fmt: on


@dataclass(frozen=True)
class Person:
    """A synthetic patient or practitioner, with its FHIR id and business identifier."""

    resource_id: str
    identifier: str
    family: str
    given: str
    sex: str  # "female" | "male" (FHIR administrative gender)
    birth_date: dt.date | None

    @property
    def dicom_name(self) -> str:
        """The name as a DICOM PN value, "Family^Given"."""
        return f"{self.family}^{self.given}"

    @property
    def display(self) -> str:
        return f"{self.family}, {self.given}"


def make_patient(
    seed: int, index: int, key: str, reference_date: dt.date, sex: str | None = None
) -> Person:
    """The patient of case `index`, aged 35 to 82 on `reference_date`.

    `sex` forces the administrative gender when the scenario needs one (prostate cancer).
    """
    r = rng(seed, "case", index, "patient")
    drawn = r.choice(("female", "male"))
    sex = sex or drawn
    given = r.choice(_GIVEN_FEMALE if sex == "female" else _GIVEN_MALE)
    age_days = r.randint(35 * 365, 82 * 365)
    return Person(
        resource_id=f"{key.lower()}-patient",
        identifier=f"{key}-P{r.randint(100000, 999999)}",
        family="Testpatient",
        given=given,
        sex=sex,
        birth_date=reference_date - dt.timedelta(days=age_days),
    )


def make_referrer(seed: int, index: int, key: str) -> Person:
    """The practitioner who referred case `index`."""
    r = rng(seed, "case", index, "referrer")
    return Person(
        resource_id=f"{key.lower()}-referrer",
        identifier=f"SYN-DR{r.randint(10000, 99999)}",
        family="Testdoctor",
        given=r.choice(_PRACTITIONER_GIVEN),
        sex=r.choice(("female", "male")),
        birth_date=None,
    )


def patient_resource(patient: Person, seed: int, index: int) -> dict:
    """FHIR R4 Patient."""
    assert patient.birth_date is not None
    r = rng(seed, "case", index, "address")
    return {
        "resourceType": "Patient",
        "id": patient.resource_id,
        "meta": {
            "tag": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
                    "code": "HTEST",
                    "display": "test health data",
                }
            ]
        },
        "identifier": [{"use": "usual", "system": PATIENT_ID_SYSTEM, "value": patient.identifier}],
        "active": True,
        "name": [
            {
                "use": "official",
                "family": patient.family,
                "given": [patient.given],
                "text": f"{patient.given} {patient.family}",
            }
        ],
        "gender": patient.sex,
        "birthDate": patient.birth_date.isoformat(),
        "address": [
            {
                "use": "home",
                "line": [f"{r.randint(1, 99)} {r.choice(_STREETS)}"],
                "city": "Testville",
                "postalCode": "00000",
                "country": "XX",
            }
        ],
    }


def practitioner_resource(person: Person) -> dict:
    """FHIR R4 Practitioner."""
    return {
        "resourceType": "Practitioner",
        "id": person.resource_id,
        "meta": {
            "tag": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
                    "code": "HTEST",
                    "display": "test health data",
                }
            ]
        },
        "identifier": [{"system": PRACTITIONER_ID_SYSTEM, "value": person.identifier}],
        "active": True,
        "name": [
            {
                "family": person.family,
                "given": [person.given],
                "prefix": ["Dr"],
                "text": f"Dr {person.given} {person.family}",
            }
        ],
        "gender": person.sex,
    }
