"""A service's detail: every service of the built directory opens, and contact links are ready for the phone."""

from __future__ import annotations

import pytest
import sqlite_utils

from field_app.directory.detail import ContactLine, service_detail
from field_app.domain.directory import Eligibility
from field_app.errors import NotFound


def test_every_service_opens(built_db: sqlite_utils.Database) -> None:
    rows = built_db.execute("SELECT id, organization_id, name, eligibility FROM services ORDER BY id").fetchall()
    assert len(rows) > 300
    for service_id, org_id, name, rules in rows:
        detail = service_detail(built_db, service_id)
        assert detail.organization.id == org_id
        assert f"{detail.organization.id}/{detail.service.id}" == service_id
        assert detail.service.name == name
        assert detail.eligibility == Eligibility.model_validate_json(rules)
        offices = built_db.execute("SELECT count(*) FROM service_locations WHERE service_id = ?", [service_id])
        assert len(detail.offices) == offices.fetchone()[0]
        assert all(o.town and o.region for o in detail.offices)
        for line in detail.contacts:
            assert line.phone or line.email
            assert (line.phone is None) == (line.e164 is None)


def test_senou_in_full(built_db: sqlite_utils.Database) -> None:
    detail = service_detail(built_db, "cfp-senou/menuiserie-bois")
    assert detail.organization.short_name == "CFPS"
    assert [(o.name, o.town, o.region) for o in detail.offices] == [("CFP Sénou", "Sénou", "bamako")]
    assert detail.eligibility.min_age == 16
    assert {c.amount for c in detail.costs} == {25000, 55000}
    assert detail.assured_date.isoformat() == "2022-12-31"


def test_contact_links_of_a_focal_point(built_db: sqlite_utils.Database) -> None:
    [line] = service_detail(built_db, "cfp-senou/menuiserie-bois").contacts
    assert line == ContactLine("Djibrilla Moussa, Directeur", "+223/66.89.68.87", "+22366896887", "djibrillam@yahoo.fr")
    assert line.tel == "tel:+22366896887"
    assert line.sms == "sms:+22366896887"
    assert line.whatsapp == "https://wa.me/22366896887"
    assert line.mailto == "mailto:djibrillam@yahoo.fr"


def test_focal_points_first_then_the_organisations_own_lines(built_db: sqlite_utils.Database) -> None:
    service = built_db.execute("SELECT id FROM services WHERE organization_id = 'impact-hub' LIMIT 1").fetchone()[0]
    lines = service_detail(built_db, service).contacts
    assert lines[0].who == "Diack DOUMBIA, Project manager" and lines[0].e164 == "+22379978643"
    email = lines[-1]
    assert (email.who, email.phone, email.email) == ("Impact Hub", None, "hello@the-hub.company")
    assert (email.tel, email.sms, email.whatsapp, email.mailto) == (None, None, None, "mailto:hello@the-hub.company")


def test_unknown_service(built_db: sqlite_utils.Database) -> None:
    for missing in ("cfp-senou/astronautique", "nobody/nothing", "no-slash"):
        with pytest.raises(NotFound):
            service_detail(built_db, missing)
