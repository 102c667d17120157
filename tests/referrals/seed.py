"""A phone full of referrals, written the way the app writes them (storage's own insert functions, each record
with its outbox entry), in one transaction: `people` returnees and `referrals` referrals to services of the
directory, several made in the same second (ties in the order), some cancelled, some moved along by the office
(merged hub events), a few of a person not on this phone (made elsewhere). Deterministic for a seed.

Shared by tests/storage/test_referrals_page.py and bench/referrals.py (the bench imports tests, never the reverse).
"""

from __future__ import annotations

import datetime as dt
import random
import uuid

import sqlite_utils

from field_app.domain.referrals import EventKind, Referral, ReferralEvent
from field_app.domain.returnees import Returnee
from field_app.domain.vocabulary import Region, Sex
from field_app.storage.referrals import add_event, create_referral, merge_event
from field_app.storage.returnees import insert_returnee

START = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)
GIVEN = ("Fatoumata", "Moussa", "Aminata", "Bakary", "Mariam", "Seydou", "Kadiatou", "Oumar", "Awa", "Ibrahim")
FAMILY = ("Traoré", "Keïta", "Coulibaly", "Diarra", "Koné", "Sissoko", "Diallo", "Camara", "Touré", "Sangaré")


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def seed(db: sqlite_utils.Database, *, people: int, referrals: int, seed: int = 0) -> list[str]:
    """Fill `db` (a built directory); returns the referral ids in the order they were made."""
    rng = random.Random(seed)
    services = [(r[0], r[1]) for r in db.execute("SELECT id, organization_id FROM services ORDER BY id")]
    regions = list(Region)
    persons: list[Returnee] = []
    made: list[str] = []
    with db.atomic():
        for n in range(people):
            at = START + dt.timedelta(minutes=n)
            person = Returnee(
                id=_uuid(rng),
                given_name=GIVEN[n % len(GIVEN)],
                family_name=f"{FAMILY[(n // len(GIVEN)) % len(FAMILY)]}",
                sex=Sex.F if n % 2 == 0 else Sex.M,
                age=18 + n % 30,
                age_recorded_on=at.date(),
                region=regions[n % len(regions)],
                consent_keep_on=at.date(),
                created_at=at,
                updated_at=at,
            )
            insert_returnee(db, person, at)
            persons.append(person)
        at = START + dt.timedelta(days=30)
        for n in range(referrals):
            if rng.random() < 0.7:  # 30 % made in the same second as the one before: ties in the order
                at += dt.timedelta(seconds=rng.randint(1, 600))
            service_id, org_id = services[rng.randrange(len(services))]
            if n % 97 == 0:  # made on another phone: the person is not here
                returnee_id, region = _uuid(rng), "kayes"
            else:
                who = persons[rng.randrange(len(persons))]
                returnee_id, region = who.id, who.region.value
            referral = Referral(
                id=_uuid(rng),
                returnee_id=returnee_id,
                service_id=service_id,
                organization_id=org_id,
                region=region,
                consent_share_at=at,
                created_at=at,
                note="matin" if n % 5 == 0 else None,
            )
            create_referral(
                db, referral, ReferralEvent(id=_uuid(rng), referral_id=referral.id, kind=EventKind.CREATED, at=at)
            )
            made.append(referral.id)
            roll = rng.random()
            later = at + dt.timedelta(hours=1)
            if roll < 0.15:
                add_event(db, ReferralEvent(id=_uuid(rng), referral_id=referral.id, kind=EventKind.REVOKED, at=later))
            elif roll < 0.45:
                merge_event(db, ReferralEvent(id=_uuid(rng), referral_id=referral.id, kind=EventKind.SENT, at=later))
                if roll < 0.30:
                    merge_event(
                        db,
                        ReferralEvent(
                            id=_uuid(rng),
                            referral_id=referral.id,
                            kind=EventKind.ACCEPTED,
                            at=later + dt.timedelta(days=1),
                        ),
                    )
    return made
