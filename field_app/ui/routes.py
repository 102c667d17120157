"""The app's routes: build them, read them back, and say which screens lie under each (for back navigation).

Service ids contain a "/" (`organisation/service`), so they are percent-encoded as one path segment; parsing
also accepts them decoded (a browser may show or hand back either form). Unknown routes read as home.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

HOME = "/"
DIRECTORY = "/directory"
NEW_RETURNEE = "/returnee/new"
REFERRALS = "/referrals"
SYNC = "/sync"
ENROL = "/sync/enrol"


@dataclass(frozen=True)
class Route:
    """A parsed route: which screen, and for whom."""

    name: (
        str  # home, directory, returnee_new, returnee, returnee_edit, service, refer, referrals, referral, sync, enrol
    )
    returnee_id: str | None = None
    service_id: str | None = None
    referral_id: str | None = None


def returnee(returnee_id: str) -> str:
    return f"/returnee/{quote(returnee_id, safe='')}"


def edit_returnee(returnee_id: str) -> str:
    return f"{returnee(returnee_id)}/edit"


def service(service_id: str, returnee_id: str | None = None) -> str:
    path = f"/service/{quote(service_id, safe='')}"
    return f"{path}?{urlencode({'returnee': returnee_id})}" if returnee_id else path


def refer(returnee_id: str, service_id: str) -> str:
    return "/refer?" + urlencode({"returnee": returnee_id, "service": service_id})


def referrals(returnee_id: str | None = None) -> str:
    return f"{REFERRALS}?{urlencode({'returnee': returnee_id})}" if returnee_id else REFERRALS


def referral(referral_id: str) -> str:
    return f"/referral/{quote(referral_id, safe='')}"


def parse(route: str) -> Route:
    """Read a route string (path and query) back into a `Route`."""
    parts = urlsplit(route or HOME)
    query = {k: v[0] for k, v in parse_qs(parts.query).items() if v and v[0]}
    path = parts.path.rstrip("/") or HOME
    segments = [unquote(s) for s in path.strip("/").split("/")] if path != HOME else []
    who = query.get("returnee")
    match segments:
        case ["directory"]:
            return Route("directory")
        case ["returnee", "new"]:
            return Route("returnee_new")
        case ["returnee", rid]:
            return Route("returnee", returnee_id=rid)
        case ["returnee", rid, "edit"]:
            return Route("returnee_edit", returnee_id=rid)
        case ["service", *rest] if rest:
            return Route("service", returnee_id=who, service_id="/".join(rest))
        case ["refer"] if who and query.get("service"):
            return Route("refer", returnee_id=who, service_id=query["service"])
        case ["referrals"]:
            return Route("referrals", returnee_id=who)
        case ["referral", rid]:
            return Route("referral", referral_id=rid)
        case ["sync"]:
            return Route("sync")
        case ["sync", "enrol"]:
            return Route("enrol")
    return Route("home")


def to_string(r: Route) -> str:
    """The canonical route string of `r`."""
    match r.name:
        case "directory":
            return DIRECTORY
        case "returnee_new":
            return NEW_RETURNEE
        case "returnee" if r.returnee_id:
            return returnee(r.returnee_id)
        case "returnee_edit" if r.returnee_id:
            return edit_returnee(r.returnee_id)
        case "service" if r.service_id:
            return service(r.service_id, r.returnee_id)
        case "refer" if r.returnee_id and r.service_id:
            return refer(r.returnee_id, r.service_id)
        case "referrals":
            return referrals(r.returnee_id)
        case "referral" if r.referral_id:
            return referral(r.referral_id)
        case "sync":
            return SYNC
        case "enrol":
            return ENROL
    return HOME


def stack(r: Route) -> list[str]:
    """The routes of the screens from home to `r`, in order: what the back arrow walks through."""
    rid = r.returnee_id
    under: list[str]
    match r.name:
        case "home":
            return [HOME]
        case "returnee_edit" if rid:
            under = [returnee(rid)]
        case "service":
            under = [returnee(rid)] if rid else [DIRECTORY]
        case "refer" if rid and r.service_id:
            under = [returnee(rid), service(r.service_id, rid)]
        case "referrals" if rid:
            under = [returnee(rid)]
        case "referral":
            under = [REFERRALS]
        case "enrol":
            under = [SYNC]
        case _:
            under = []
    return [HOME, *under, to_string(r)]
