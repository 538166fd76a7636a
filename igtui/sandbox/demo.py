"""The deterministic demo world: the apps and accounts the team brief fixes, so that
`igtui --demo` can register the very same apps in its throwaway store.
"""

from __future__ import annotations

from igtui.sandbox.records import SbApp, WorldError
from igtui.sandbox.world import World

DEMO_REDIRECT_URIS = ["http://127.0.0.1:8765/callback", "https://localhost/callback"]
DEMO_IG_APP = {"name": "demo-ig", "app_id": "100000000000001", "secret": "demo-ig-secret-0001"}
DEMO_FB_APP = {"name": "demo-fb", "app_id": "200000000000002", "secret": "demo-fb-secret-0002"}
DEMO_IG_USERS = [
    ("acme.studio", "Acme Studio", "BUSINESS"),
    ("northwind.cafe", "Northwind Cafe", "BUSINESS"),
    ("lumen.photo", "Lumen Photo", "MEDIA_CREATOR"),
    ("harbor.books", "Harbor Books", "BUSINESS"),
    ("tidal.records", "Tidal Records", "MEDIA_CREATOR"),
    ("orbit.gear", "Orbit Gear", "BUSINESS"),
]
"""Instagram Login demo accounts; their ids are 17841400000000001… in this order."""
DEMO_FB_USER = ("dana.rivers", "Dana Rivers")
"""The Facebook demo user: manages the Pages below (and one Page with no Instagram account)."""
DEMO_PAGES = [
    ("Pine Outdoors", "Outdoor & Sporting Goods Company", "pine.outdoors"),
    ("Cedar Kitchen", "Restaurant", "cedar.kitchen"),
    ("Dana's Notes", "Personal Blog", None),
]


def seed_demo(world: World, *, shape: str = "observed") -> None:
    """Create the demo apps, the six Instagram users and the Facebook user with its Pages."""
    for spec, platform in ((DEMO_IG_APP, "instagram"), (DEMO_FB_APP, "facebook")):
        world.create_app(platform=platform, app_id=spec["app_id"], secret=spec["secret"],
                         name=spec["name"], redirect_uris=list(DEMO_REDIRECT_URIS), shape=shape)
    for username, name, account_type in DEMO_IG_USERS:
        world.create_ig_user(username, name=name, account_type=account_type)
    world.create_fb_user(DEMO_FB_USER[0], name=DEMO_FB_USER[1])
    for page_name, category, ig_username in DEMO_PAGES:
        world.create_page(DEMO_FB_USER[0], page_name, ig_username=ig_username, category=category)
    for page in world.pages.values():
        if page.ig_username is not None:
            world.ig_users[page.ig_username].name = page.name


def create_accounts(world: World, app: SbApp, count: int, prefix: str = "user") -> list[dict[str, str]]:
    """Add `count` users able to log in to `app` (fast: benchmarks ask for 10,000).

    Instagram apps get Instagram users `PREFIX00001`…; Facebook apps get one Facebook user per
    account, each with a Page linked to an Instagram business account `PREFIX00001.ig`.
    """
    if not isinstance(count, int) or not 0 < count <= 200_000:
        raise WorldError("count must be between 1 and 200000")
    if not prefix or not isinstance(prefix, str):
        raise WorldError("prefix must be a non-empty string")
    width = max(5, len(str(count)))
    created: list[dict[str, str]] = []
    number = 0
    while len(created) < count:
        number += 1
        username = f"{prefix}{number:0{width}d}"
        if app.platform == "instagram":
            if username in world.ig_users:
                continue
            user = world.create_ig_user(username)
            created.append({"username": username, "user_id": user.user_id})
        else:
            if username in world.fb_users or f"{username}.ig" in world.ig_users:
                continue
            fb_user = world.create_fb_user(username)
            page = world.create_page(username, f"{username} page", ig_username=f"{username}.ig")
            ig = world.ig_users[f"{username}.ig"]
            created.append({"username": username, "fb_id": fb_user.fb_id,
                            "page_id": page.page_id, "ig_username": ig.username,
                            "user_id": ig.user_id})
    return created
