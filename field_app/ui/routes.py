"""The app's one route table: each screen is one row (name, path, parent, view model, view, roles, menu entry).

`parse`, `to_string`, `stack` (what the back arrow walks through) and the router all read `SCREENS`; a new screen
is one new row. Paths are patterns: `{field}` is one segment, `{field*}` the rest of the path (service ids contain
a "/" and are percent-encoded as one segment; parsing also accepts them decoded); `query` names the `Route`
fields carried in the query string (`returnee_id` ↔ `?returnee=`), `required` the fields a route cannot do
without. A parent of `HOME` means the role's home screen. Unknown routes read as home.

View models and views are named lazily (the views import this module for their links).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from field_app.i18n import N_

if TYPE_CHECKING:
    import flet as ft

AGENT, OFFICE, SUPERVISOR = "agent", "office", "supervisor"
ROLES = (AGENT, OFFICE, SUPERVISOR)
ALL = frozenset(ROLES)
FIELD = frozenset({AGENT, OFFICE})  # registering people and referring them: the agent's flow, walk-ins at an office
DESK = frozenset({OFFICE, SUPERVISOR})

HOME = "/"


@dataclass(frozen=True)
class Route:
    """A parsed route: which screen, and for whom."""

    name: str
    returnee_id: str | None = None
    service_id: str | None = None
    referral_id: str | None = None
    organization_id: str | None = None


class Context(Protocol):
    """What a row's factories get from the router (the router is the context)."""

    db: Any
    clock: Any
    nav: Any
    locate: Any
    sync_vm: Any
    role: str
    region: str | None
    wide: bool
    exports_dir: Any  # Path: the data directory's exports/ folder

    def sync_now(self) -> None: ...
    def on_redraw(self, redraw: Callable[[], None]) -> None: ...
    def enrolled(self) -> None: ...


@dataclass(frozen=True)
class Screen:
    name: str
    path: str
    parent: Callable[[Route], str | None]  # the route under this one; HOME = the role's home; None = nothing
    model: Callable[[Context, Route], Any]
    view: Callable[[Context, Any], ft.View]
    roles: frozenset[str] = ALL
    query: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    menu: tuple[str, str] | None = None  # (icon name, label msgid): a destination of the navigation rail / bar
    sync_badge: bool = True  # the sync state in the app bar (home and the sync screen show it in full)


def vm(path: str) -> Any:
    """A view-model class or function named "module:Name" under field_app.ui.viewmodels (imported when used)."""
    module, name = path.split(":")
    return getattr(importlib.import_module(f"field_app.ui.viewmodels.{module}"), name)


def ui(path: str) -> Any:
    """A view builder named "module:name" under field_app.ui.views (imported when used)."""
    module, name = path.split(":")
    return getattr(importlib.import_module(f"field_app.ui.views.{module}"), name)


def _home(r: Route) -> str:
    return HOME


def _top(r: Route) -> None:
    return None


def _service_parent(r: Route) -> str:
    return returnee(r.returnee_id) if r.returnee_id else _path("directory")


def _refer_parent(r: Route) -> str:
    assert r.service_id and r.returnee_id
    return service(r.service_id, r.returnee_id)


def _referrals_parent(r: Route) -> str:
    return returnee(r.returnee_id) if r.returnee_id else HOME


# fmt: off
SCREENS: tuple[Screen, ...] = (
    # --- the field agent's screens (walk-ins at an office use the same flow) ---------------------------------
    Screen("home", "/", _top,
           lambda c, r: vm("home:HomeViewModel")(c.db, c.clock),
           lambda c, m: ui("home:home_screen")(c, m),
           roles=frozenset({AGENT}), menu=("HOME", N_("Home")), sync_badge=False),
    Screen("walk_in", "/walk-in", _home,
           lambda c, r: vm("home:HomeViewModel")(c.db, c.clock),
           lambda c, m: ui("home:home_screen")(c, m),
           roles=frozenset({OFFICE}), menu=("PERSON_ADD", N_("Walk-ins")), sync_badge=False),
    Screen("directory", "/directory", _home,
           lambda c, r: vm("directory:DirectoryViewModel")(c.db, clock=c.clock),
           lambda c, m: ui("directory:directory_screen")(c, m),
           roles=FIELD, menu=("SEARCH", N_("Directory"))),
    Screen("people", "/people", _home,
           lambda c, r: vm("people:PeopleViewModel")(c.db, c.clock),
           lambda c, m: ui("people:people_view")(m, c.nav),
           roles=FIELD, menu=("PEOPLE", N_("People"))),
    Screen("person", "/people/{returnee_id}", lambda r: _path("people"),
           lambda c, r: vm("person:PersonViewModel")(c.db, c.clock, r.returnee_id),
           lambda c, m: ui("person:person_view")(m, c.nav), roles=FIELD),
    Screen("returnee_new", "/returnee/new", _home,
           lambda c, r: vm("returnee_form:ReturneeFormViewModel")(c.db, c.clock),
           lambda c, m: ui("returnee_form:returnee_form_view")(m, c.nav), roles=FIELD),
    Screen("returnee", "/returnee/{returnee_id}", _home,
           lambda c, r: vm("nearby:NearbyViewModel")(c.db, c.clock, r.returnee_id),
           lambda c, m: ui("nearby:nearby_view")(m, c.nav, c.locate), roles=FIELD),
    Screen("returnee_edit", "/returnee/{returnee_id}/edit", lambda r: returnee(r.returnee_id or ""),
           lambda c, r: vm("returnee_form:ReturneeFormViewModel")(c.db, c.clock, r.returnee_id),
           lambda c, m: ui("returnee_form:returnee_form_view")(m, c.nav), roles=FIELD),
    Screen("service", "/service/{service_id*}", _service_parent,
           lambda c, r: vm("service_detail:ServiceDetailViewModel")(c.db, c.clock, r.service_id, r.returnee_id),
           lambda c, m: ui("service_detail:service_detail_view")(m, c.nav), query=("returnee_id",)),
    Screen("refer", "/refer", _refer_parent,
           lambda c, r: vm("referral:ReferralViewModel")(c.db, c.clock, r.returnee_id, r.service_id),
           lambda c, m: ui("referral:referral_view")(m, c.nav),
           roles=FIELD, query=("returnee_id", "service_id"), required=("returnee_id", "service_id")),
    Screen("referrals", "/referrals", _referrals_parent,
           lambda c, r: vm("referrals:ReferralsViewModel")(c.db, c.clock, r.returnee_id),
           lambda c, m: ui("referrals:referrals_view")(m, c.nav),
           roles=FIELD, query=("returnee_id",), menu=("ASSIGNMENT", N_("My referrals"))),
    Screen("referral", "/referral/{referral_id}", lambda r: _path("referrals"),
           lambda c, r: vm("referral:SlipViewModel")(c.db, r.referral_id, c.clock),
           lambda c, m: ui("referral:slip_view")(m, c.nav), roles=FIELD),
    # --- the regional office ------------------------------------------------------------------------------------
    Screen("inbox", "/inbox", _home,
           lambda c, r: vm("office:InboxViewModel")(c.db, c.clock, region=c.region),
           lambda c, m: ui("office:inbox_screen")(c, m),
           roles=DESK, menu=("INBOX", N_("Referrals"))),
    Screen("case", "/inbox/{referral_id}", lambda r: _path("inbox"),
           lambda c, r: vm("office:CaseViewModel")(c.db, c.clock, r.referral_id),
           lambda c, m: ui("office:case_screen")(c, m), roles=DESK),
    Screen("upkeep", "/upkeep", _home,
           lambda c, r: vm("upkeep:UpkeepListViewModel")(c.db, c.clock, role=c.role, region=c.region),
           lambda c, m: ui("upkeep:upkeep_list_screen")(c, m),
           roles=DESK, menu=("EDIT_NOTE", N_("Directory"))),
    Screen("upkeep_org", "/upkeep/{organization_id}", lambda r: _path("upkeep"),
           lambda c, r: vm("upkeep:UpkeepViewModel")(c.db, c.clock, r.organization_id),
           lambda c, m: ui("upkeep:upkeep_screen")(c, m), roles=DESK),
    # --- the supervisor ---------------------------------------------------------------------------------------
    Screen("overview", "/overview", _home,
           lambda c, r: vm("supervisor:OverviewViewModel")(c.db, c.clock),
           lambda c, m: ui("supervisor:overview_screen")(c, m),
           roles=frozenset({SUPERVISOR}), menu=("INSIGHTS", N_("Overview"))),
    Screen("devices", "/devices", _home,
           lambda c, r: vm("supervisor:DevicesViewModel")(c.db, c.clock),
           lambda c, m: ui("supervisor:devices_screen")(c, m),
           roles=frozenset({SUPERVISOR}), menu=("DEVICES", N_("Devices"))),
    Screen("export", "/exports", _home,
           lambda c, r: vm("supervisor:ExportsViewModel")(c.db, c.clock, c.exports_dir),
           lambda c, m: ui("supervisor:exports_screen")(c, m),
           roles=frozenset({SUPERVISOR}), menu=("DOWNLOAD", N_("Exports"))),
    Screen("audit", "/logs", _home,
           lambda c, r: vm("supervisor:AuditViewModel")(c.db, c.clock),
           lambda c, m: ui("supervisor:audit_screen")(c, m),
           roles=frozenset({SUPERVISOR}), menu=("HISTORY", N_("Logs"))),
    Screen("access", "/logs/access", lambda r: _path("audit"),
           lambda c, r: vm("supervisor:AccessViewModel")(c.db, c.clock),
           lambda c, m: ui("supervisor:access_screen")(c, m), roles=frozenset({SUPERVISOR})),
    # --- everyone -----------------------------------------------------------------------------------------------
    Screen("sync", "/sync", _home,
           lambda c, r: c.sync_vm,
           lambda c, m: ui("sync:sync_screen")(c, m), menu=("SYNC", N_("Sync")), sync_badge=False),
    Screen("enrol", "/sync/enrol", lambda r: _path("sync"),
           lambda c, r: vm("sync:EnrolViewModel")(c.db, c.clock),
           lambda c, m: ui("sync:enrol_view")(m, c.nav, c.enrolled)),
)
# fmt: on
BY_NAME = {s.name: s for s in SCREENS}
HOMES = {AGENT: "home", OFFICE: "inbox", SUPERVISOR: "overview"}  # what "/" opens for each role
MENUS = {  # the destinations of the navigation rail (desktop), in order; the phone's bottom bar shows the first
    AGENT: ("home", "people", "directory", "referrals", "sync"),  # none on a phone: the agent's home is the menu
    OFFICE: ("inbox", "walk_in", "upkeep", "sync"),
    SUPERVISOR: ("overview", "inbox", "devices", "export", "audit", "sync"),
}
ON_PHONE = {AGENT: 0, OFFICE: 3, SUPERVISOR: 5}  # how many fit the phone's bottom bar (the sync screen: app bar)


def link(name: str, **values: str | None) -> str:
    """The route string of screen `name` with these field values."""
    return to_string(Route(name, **values))


def returnee(returnee_id: str) -> str:
    return link("returnee", returnee_id=returnee_id)


def person(returnee_id: str) -> str:
    """A person's page (their details and referrals)."""
    return link("person", returnee_id=returnee_id)


def edit_returnee(returnee_id: str) -> str:
    return link("returnee_edit", returnee_id=returnee_id)


def service(service_id: str, returnee_id: str | None = None) -> str:
    return link("service", service_id=service_id, returnee_id=returnee_id)


def refer(returnee_id: str, service_id: str) -> str:
    return link("refer", returnee_id=returnee_id, service_id=service_id)


def referrals(returnee_id: str | None = None) -> str:
    return link("referrals", returnee_id=returnee_id)


def referral(referral_id: str) -> str:
    return link("referral", referral_id=referral_id)


def case(referral_id: str) -> str:
    return link("case", referral_id=referral_id)


def upkeep(organization_id: str) -> str:
    return link("upkeep_org", organization_id=organization_id)


def _path(name: str) -> str:
    return BY_NAME[name].path


DIRECTORY: str = _path("directory")
PEOPLE: str = _path("people")
NEW_RETURNEE: str = _path("returnee_new")
REFERRALS: str = _path("referrals")
SYNC: str = _path("sync")
ENROL: str = _path("enrol")
INBOX: str = _path("inbox")
UPKEEP: str = _path("upkeep")
OVERVIEW: str = _path("overview")
DEVICES: str = _path("devices")
EXPORTS: str = _path("export")
AUDIT: str = _path("audit")
ACCESS: str = _path("access")
WALK_IN: str = _path("walk_in")
FIELDS = tuple(f.name for f in fields(Route) if f.name != "name")


def _key(field: str) -> str:
    return field.removesuffix("_id")  # returnee_id ↔ ?returnee=


def _match(screen: Screen, segments: list[str]) -> dict[str, str] | None:
    pattern = [p for p in screen.path.strip("/").split("/") if p]
    values: dict[str, str] = {}
    for i, part in enumerate(pattern):
        if part.startswith("{") and part.endswith("*}"):
            rest = segments[i:]
            if not rest:
                return None
            values[part[1:-2]] = "/".join(rest)
            return values
        if i >= len(segments):
            return None
        if part.startswith("{"):
            values[part[1:-1]] = segments[i]
        elif part != segments[i]:
            return None
    return values if len(segments) == len(pattern) else None


def _literals(screen: Screen) -> int:
    return sum(1 for p in screen.path.split("/") if p and not p.startswith("{"))


def parse(route: str) -> Route:
    """Read a route string (path and query) back into a `Route`."""
    parts = urlsplit(route or HOME)
    query = {k: v[0] for k, v in parse_qs(parts.query).items() if v and v[0]}
    path = parts.path.rstrip("/") or HOME
    segments = [unquote(s) for s in path.strip("/").split("/")] if path != HOME else []
    best: tuple[int, Route] | None = None
    for screen in SCREENS:
        values = _match(screen, segments)
        if values is None:
            continue
        values.update({f: query[_key(f)] for f in screen.query if _key(f) in query})
        if any(not values.get(f) for f in screen.required):
            continue
        found = Route(screen.name, **values)
        if best is None or _literals(screen) > best[0]:
            best = (_literals(screen), found)
    return best[1] if best else Route("home")


def to_string(r: Route) -> str:
    """The canonical route string of `r` (home when a field the path needs is missing)."""
    screen = BY_NAME.get(r.name)
    if screen is None or any(not getattr(r, f) for f in screen.required):
        return HOME
    out: list[str] = []
    for part in screen.path.strip("/").split("/"):
        if part.startswith("{"):
            value = getattr(r, part.strip("{}*"))
            if not value:
                return HOME
            out.append(quote(value, safe=""))
        elif part:
            out.append(part)
    path = "/" + "/".join(out)
    query = {_key(f): getattr(r, f) for f in screen.query if getattr(r, f)}
    return f"{path}?{urlencode(query)}" if query else path


def home_of(role: str) -> str:
    """The route "/" opens for `role`."""
    return screen_path(HOMES.get(role, "home"))


def screen_path(name: str) -> str:
    return to_string(Route(name))


def resolve(r: Route, role: str) -> Route:
    """Home is the role's own home (the office's inbox, the supervisor's overview)."""
    return replace(r, name=HOMES.get(role, "home")) if r.name == "home" else r


def stack(r: Route, role: str = AGENT) -> list[str]:
    """The routes of the screens from the role's home to `r`, in order: what the back arrow walks through."""
    r = resolve(r, role)
    home = home_of(role)
    # at a desk (office, supervisor) each menu entry is a top-level screen: no back arrow to the home screen
    tops = {home} if role == AGENT else {screen_path(n) for n in MENUS.get(role, ())} | {home}
    chain = [to_string(r)]
    parent = BY_NAME[r.name].parent(r) if r.name in BY_NAME else None
    while parent is not None and chain[0] not in tops and len(chain) < 10:
        under = home if parent == HOME else parent
        chain.insert(0, under)
        if under in tops:
            break
        p = parse(under)
        parent = BY_NAME[p.name].parent(p)
    return chain


def allowed(r: Route, role: str) -> bool:
    screen = BY_NAME.get(r.name)
    return screen is not None and role in screen.roles


def menu(role: str, *, phone: bool = False) -> list[Screen]:
    """The destinations of the navigation rail (desktop) or of the bottom bar (phone) for `role`, in order."""
    names = MENUS.get(role, MENUS[AGENT])
    return [BY_NAME[n] for n in (names[: ON_PHONE.get(role, 0)] if phone else names)]
