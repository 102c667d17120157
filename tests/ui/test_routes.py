"""Routes: service ids (with their "/") survive a round trip; each screen knows what lies under it."""

from __future__ import annotations

import pytest

from field_app.ui import routes

RID = "7037468f-9def-4418-83b0-42374fcb0d05"
SID = "atelier-ecole-kayes/maraichage"


@pytest.mark.parametrize(
    "route",
    [
        routes.HOME,
        routes.DIRECTORY,
        routes.NEW_RETURNEE,
        routes.returnee(RID),
        routes.edit_returnee(RID),
        routes.service(SID),
        routes.service(SID, RID),
        routes.refer(RID, SID),
        routes.referrals(),
        routes.referrals(RID),
        routes.referral(RID),
    ],
)
def test_every_route_reads_back_to_itself(route: str) -> None:
    assert routes.to_string(routes.parse(route)) == route


def test_service_ids_are_one_encoded_segment_and_decoded_forms_are_accepted() -> None:
    route = routes.service(SID, RID)
    assert route == f"/service/atelier-ecole-kayes%2Fmaraichage?returnee={RID}"
    assert routes.parse(route) == routes.Route("service", returnee_id=RID, service_id=SID)
    assert routes.parse(f"/service/{SID}").service_id == SID  # a browser may hand the "/" back decoded
    assert routes.parse(routes.refer(RID, SID)).service_id == SID


def test_unknown_or_incomplete_routes_read_as_home() -> None:
    for route in ("/nowhere", "/refer?returnee=" + RID, "", "/returnee"):
        assert routes.parse(route).name == "home"


def test_the_back_arrow_walks_the_flow_in_reverse() -> None:
    assert routes.stack(routes.parse(routes.refer(RID, SID))) == [
        "/",
        routes.returnee(RID),
        routes.service(SID, RID),
        routes.refer(RID, SID),
    ]
    assert routes.stack(routes.parse(routes.service(SID))) == ["/", "/directory", routes.service(SID)]
    assert routes.stack(routes.parse(routes.referral(RID))) == ["/", "/referrals", routes.referral(RID)]
    assert routes.stack(routes.parse(routes.edit_returnee(RID)))[-2] == routes.returnee(RID)
    assert routes.stack(routes.parse("/")) == ["/"]
