"""Information: the scheme pages from central (words in Hindi and English and a picture each),
fetched in the background, checked, cached on disk with their version, served to the screen
through the session API (the home tile, info_start / info_page / info_image / info_list), and
read the same once central is down and the core restarted. Hostile pages are never kept: the
last good set stays and an alarm is raised. Against the real core, the device simulators on
ptys and the reference central on loopback."""

from __future__ import annotations

import asyncio
import base64
import copy
import io
import json

import pytest
from harness import KioskHarness
from PIL import Image

from sim.central import scheme_seed
from terminal.scheme_pages import MAX_IMAGE_BYTES, SchemeError, validate_index, validate_page

CODES = ["old_age_pension", "chiranjeevi", "palanhar", "labour_card"]


async def pages_loaded(h, version=scheme_seed.VERSION, timeout=15.0):
    cache = h.core.kiosk.citizen.schemes
    for _ in range(int(timeout * 20)):
        if cache.version == version:
            return cache
        await asyncio.sleep(0.05)
    raise AssertionError(f"scheme pages {cache.version} served, not {version}")


def info_tile(state):
    return next((t for t in state["home"]["tiles"] if t["category"] == "info"), None)


def picture(data_b64: str) -> Image.Image:
    img = Image.open(io.BytesIO(base64.b64decode(data_b64)))
    img.load()
    return img


async def read_every_page(citizen) -> None:
    """Open the list from the home tile, then each page and its picture, then go home."""
    assert (await citizen.send("info_start"))["ok"]
    state = await citizen.wait_screen("INFO")
    lookup = state["lookup"]
    assert lookup["status"] == "list" and lookup["version"] == scheme_seed.VERSION
    assert [p["code"] for p in lookup["pages"]] == CODES
    assert lookup["pages"][1]["title_hi"] == "चिरंजीवी स्वास्थ्य बीमा"
    for code in CODES:
        assert (await citizen.send("info_page", code=code))["ok"]
        state = await citizen.wait_for(
            lambda s, c=code: ((s["lookup"] or {}).get("page") or {}).get("code") == c)
        page = state["lookup"]["page"]
        seeded = next(p for p in scheme_seed.PAGES if p["code"] == code)
        assert page["title_en"] == seeded["title_en"] and page["body_hi"] == seeded["body_hi"]
        assert "data_b64" not in str(state)  # the picture is not in the pushed state
        reply = await citizen.send("info_image", code=code)
        assert reply["ok"], reply
        img = picture(reply["data"]["data_b64"])
        assert img.format == {"png": "PNG", "jpeg": "JPEG"}[seeded["picture"][1]]
        assert img.size == (page["image"]["width"], page["image"]["height"]) == (480, 300)
        assert (await citizen.send("info_list"))["ok"]
        state = await citizen.wait_for(lambda s: (s["lookup"] or {}).get("status") == "list")
        assert state["lookup"]["page"] is None
    assert (await citizen.send("finish"))["ok"]
    await citizen.wait_screen("IDLE")


async def test_pages_come_from_central_are_cached_and_read_offline_after_a_restart(tmp_path):
    async with KioskHarness(tmp_path) as h:
        async with h.client() as citizen:
            await pages_loaded(h)
            state = await citizen.wait_for(lambda s: info_tile(s) is not None)
            tile = info_tile(state)
            assert tile["name_hi"] == "योजनाओं की जानकारी"
            assert tile["services"][0]["kind"] == "info" and tile["services"][0]["pages"] == 4
            await read_every_page(citizen)
        cached = tmp_path / "schemes"
        index = json.loads((cached / "index.json").read_text())
        assert index["version"] == scheme_seed.VERSION
        assert len([p for p in cached.iterdir() if p.suffix in (".png", ".jpg")]) == 4

        # Central goes away and the core restarts: the pages read the same, from the disk.
        await h.stop_core()
        await h.central.stop()
        await h.start_core()
        async with h.client() as citizen:
            assert h.core.kiosk.citizen.schemes.version == scheme_seed.VERSION
            assert info_tile(citizen.state) is not None
            await read_every_page(citizen)
            with pytest.raises(Exception):  # noqa: B017 - central is really down
                await h.core.central.scheme_index()


async def test_no_tile_until_there_are_pages(tmp_path):
    async with KioskHarness(tmp_path, central={"url": "http://127.0.0.1:9"}) as h, \
            h.client() as citizen:
        await asyncio.sleep(0.5)
        assert info_tile(citizen.state) is None
        assert (await citizen.send("info_start"))["message_key"] == "service_unavailable"
        assert h.core.kiosk.citizen.schemes.pages == []


async def test_intents_are_bounded(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        await pages_loaded(h)
        assert (await citizen.send("info_page", code="palanhar"))["message_key"] == "not_now"
        assert (await citizen.send("info_start"))["ok"]
        for code in ("no_such_scheme", 42, None, "../index", "x" * 200):
            reply = await citizen.send("info_page", code=code)
            assert reply["message_key"] == "info_page_not_found", code
        reply = await citizen.send("info_image", code="palanhar")  # not the page open
        assert reply["message_key"] == "not_now"
        assert (await citizen.send("info_page", code="palanhar"))["ok"]
        assert (await citizen.send("info_image", code="chiranjeevi"))["message_key"] == "not_now"
        assert (await citizen.send("info_image", code="palanhar"))["ok"]

        # A picture changed on disk under the kiosk is not served (the words still are).
        cache = h.core.kiosk.citizen.schemes
        entry = cache.page("palanhar")
        path = tmp_path / "schemes" / f"{entry['image_sha256']}.png"
        path.write_bytes(path.read_bytes()[:-20])
        reply = await citizen.send("info_image", code="palanhar")
        assert reply["message_key"] == "info_image_unavailable"

        # Not during a payment.
        assert (await citizen.send("finish"))["ok"]
        assert (await citizen.send("start", provider="PHED"))["ok"]
        assert (await citizen.send("info_start"))["message_key"] == "session_in_progress"


def hostile_pages():
    good = scheme_seed.page("palanhar")

    def edit(fn):
        doc = copy.deepcopy(good)
        fn(doc)
        return doc

    def image_of(fmt: str, size: tuple[int, int]) -> str:
        out = io.BytesIO()
        Image.new("RGB", size, (200, 10, 10)).save(out, fmt)
        return base64.b64encode(out.getvalue()).decode()

    png = base64.b64decode(good["image"]["data_b64"])
    yield "not an object", []
    yield "another page", edit(lambda d: d.update(code="chiranjeevi"))
    yield "another version", edit(lambda d: d.update(version="2"))
    yield "huge body", edit(lambda d: d.update(body_en="x" * 5000))
    yield "empty title", edit(lambda d: d.update(title_hi="  "))
    yield "control chars", edit(lambda d: d.update(title_en="Pal\x1b[2Janhar"))
    yield "title with a line break", edit(lambda d: d.update(title_en="Pal\nanhar"))
    yield "body not text", edit(lambda d: d.update(body_hi=["पालनहार"]))
    yield "no image", edit(lambda d: d.pop("image"))
    yield "gif", edit(lambda d: d["image"].update(type="gif"))
    yield "not base64", edit(lambda d: d["image"].update(data_b64="!!!!"))
    yield "too many bytes", edit(lambda d: d["image"].update(
        data_b64=base64.b64encode(b"\x89PNG" + bytes(MAX_IMAGE_BYTES)).decode()))
    yield "not a picture", edit(lambda d: d["image"].update(
        data_b64=base64.b64encode(b"<html>hello</html>").decode()))
    yield "truncated png", edit(lambda d: d["image"].update(
        data_b64=base64.b64encode(png[: len(png) // 2]).decode()))
    yield "jpeg called png", edit(lambda d: d["image"].update(
        data_b64=image_of("JPEG", (64, 64))))
    yield "huge bitmap in a small file", edit(lambda d: d["image"].update(
        data_b64=image_of("PNG", (6000, 40))))
    yield "tiny", edit(lambda d: d["image"].update(data_b64=image_of("PNG", (4, 4))))


@pytest.mark.parametrize(("why", "doc"), list(hostile_pages()))
def test_validation_refuses_hostile_pages(why, doc):
    with pytest.raises(SchemeError):
        validate_page(doc, "palanhar", "1")


@pytest.mark.parametrize("doc", [
    [], {"version": "1"}, {"version": "x y", "pages": []},
    {"version": "1", "pages": [{"code": "a", "version": "1"}] * 2},
    {"version": "1", "pages": [{"code": f"p{i}", "version": "1"} for i in range(25)]},
    {"version": "1", "pages": [{"code": "Palanhar", "version": "1"}]},
    {"version": "1", "pages": [{"code": "palanhar", "version": 1}]},
])
def test_validation_refuses_hostile_lists(doc):
    with pytest.raises(SchemeError):
        validate_index(doc)


def test_the_reference_pages_validate():
    index = validate_index(scheme_seed.index())
    for item in index["pages"]:
        page = validate_page(scheme_seed.page(item["code"]), item["code"], item["version"])
        assert page["width"] == 480 and len(page["image"]) < 30_000


async def test_hostile_pages_keep_the_last_good_set_and_raise_an_alarm(tmp_path, monkeypatch):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        cache = await pages_loaded(h)
        index_file = tmp_path / "schemes" / "index.json"
        before = index_file.read_bytes()
        good_index, good_page = scheme_seed.index, scheme_seed.page

        def newer_index():
            doc = good_index()
            doc["version"] = "2026.12.9"
            doc["pages"][2]["version"] = "2"
            return doc

        def hostile_page(code):
            doc = good_page(code)
            if doc is not None and code == "palanhar":
                doc["version"] = "2"
                doc["image"]["data_b64"] = base64.b64encode(b"GIF89a" + bytes(100)).decode()
            return doc

        monkeypatch.setattr(scheme_seed, "index", newer_index)
        monkeypatch.setattr(scheme_seed, "page", hostile_page)
        assert await cache.refresh() is False
        assert cache.version == scheme_seed.VERSION and index_file.read_bytes() == before
        h.core.kiosk.changed()
        state = await citizen.wait_for(
            lambda s: "scheme_pages_invalid" in (s["maintenance"] or {}).get("alarms", []))
        assert info_tile(state) is not None
        assert (await citizen.send("info_start"))["ok"]
        assert (await citizen.send("info_page", code="palanhar"))["ok"]
        assert (await citizen.send("info_image", code="palanhar"))["ok"]
        assert (await citizen.send("finish"))["ok"]

        # A hostile list (too many pages) is refused the same way.
        monkeypatch.setattr(scheme_seed, "index", lambda: {"version": "2026.12.10", "pages": [
            {"code": f"p{i}", "version": "1"} for i in range(100)]})
        assert await cache.refresh() is False
        assert cache.version == scheme_seed.VERSION

        # A good new version replaces the set: only the changed page is fetched again, and the
        # picture no page names any more is deleted.
        def good_newer_page(code):
            doc = good_page(code)
            if doc is not None and code == "palanhar":
                doc["version"] = "2"
                doc["body_en"] = "Monthly help for a child's guardian (new words)."
                doc["image"]["data_b64"] = base64.b64encode(
                    scheme_seed.picture("tools", "jpeg")).decode()
                doc["image"]["type"] = "jpeg"
            return doc

        asked: list[str] = []

        def counting_page(code):
            asked.append(code)
            return good_newer_page(code)

        monkeypatch.setattr(scheme_seed, "index", newer_index)
        monkeypatch.setattr(scheme_seed, "page", counting_page)
        assert await cache.refresh() is True
        assert asked == ["palanhar"]
        assert json.loads(index_file.read_text())["version"] == "2026.12.9"
        assert cache.page("palanhar")["body_en"].endswith("(new words).")
        pictures = sorted(p.suffix for p in (tmp_path / "schemes").iterdir()
                          if p.suffix in (".png", ".jpg"))
        assert pictures == [".jpg", ".jpg", ".png", ".png"]  # the old palanhar PNG is gone


async def test_a_corrupt_cache_is_refused_with_an_alarm(tmp_path):
    async with KioskHarness(tmp_path) as h:
        cache = await pages_loaded(h)
        entry = cache.page("old_age_pension")
    picture_file = tmp_path / "schemes" / f"{entry['image_sha256']}.png"
    picture_file.write_bytes(b"\x89PNG garbage")
    # Central is down at this start: nothing good to serve, and the engineer is told.
    async with KioskHarness(tmp_path, central={"url": "http://127.0.0.1:9"}) as h, \
            h.client() as citizen:
        state = await citizen.wait_for(
            lambda s: "scheme_cache_invalid" in (s["maintenance"] or {}).get("alarms", []),
            timeout=10)
        assert info_tile(state) is None
        assert h.core.kiosk.citizen.schemes.pages == []


@pytest.mark.parametrize("lang", ["hi", "en"])
def test_the_home_plan_draws_the_info_tile_that_opens_the_pages(lang):
    from screens import home_plan
    from terminal.info_service import TILE_NAMES
    from tests.test_home_plan import FULL, Words, state

    info = {"category": "info", **TILE_NAMES, "services": [
        {"service": "schemes", "kind": "info", **TILE_NAMES, "fee_paise": 0, "tenders": [],
         "providers": [], "pages": 4}]}
    plans = home_plan.plan(Words(lang), state([*FULL, info]))
    tile = next(p for p in plans if p.tid == "tile_info")
    assert (tile.action, tile.kind, tile.icon) == ("service", "info", "info")
    assert tile.title == ("योजनाएँ" if lang == "hi" else "Schemes") and tile.subtitle
    assert [p.tid for p in plans][-2:] == ["tile_info", "tile_verify"]
    assert "tile_info" not in [p.tid for p in home_plan.plan(Words(lang), state(FULL))]
