"""The reference central's scheme pages (GET /v1/schemes, GET /v1/schemes/{code}): what a citizen
may read at the kiosk about the government's schemes, in Hindi and English, each with a small
picture. Kiosks cache them by version and show them while central is unreachable
(terminal/scheme_cache.py), so bump VERSION and the page's version on any change.

The pictures are drawn here with Pillow (flat shapes: the same bytes on every run), one PNG and
one JPEG among them so both kinds are exercised. The words are plain summaries for a demo; the
department's own page is what a citizen should rely on.
"""

from __future__ import annotations

import base64
import functools
import io
from typing import Any

VERSION = "2026.12.1"

PAGES: list[dict[str, Any]] = [
    {
        "code": "old_age_pension", "version": "1", "picture": ("pension", "png"),
        "title_en": "Old-age pension",
        "title_hi": "वृद्धावस्था पेंशन",
        "body_en": (
            "A monthly pension from the state government for older people with little income: "
            "women from 55 years, men from 58 years.\n"
            "The money goes straight into your bank account every month.\n"
            "What you need: Jan Aadhaar card, Aadhaar card, bank account details and proof of "
            "age.\n"
            "You can apply at this kiosk: touch 'Old-age pension' on the first screen."
        ),
        "body_hi": (
            "कम आमदनी वाले बुज़ुर्गों को राज्य सरकार से हर महीने पेंशन: महिलाएँ 55 साल से, "
            "पुरुष 58 साल से।\n"
            "पैसा हर महीने सीधे आपके बैंक खाते में आता है।\n"
            "क्या चाहिए: जन आधार कार्ड, आधार कार्ड, बैंक खाते की जानकारी और उम्र का सबूत।\n"
            "आवेदन इसी कियोस्क पर कर सकते हैं: पहली स्क्रीन पर 'वृद्धावस्था पेंशन' छुएँ।"
        ),
    },
    {
        "code": "chiranjeevi", "version": "1", "picture": ("health", "jpeg"),
        "title_en": "Chiranjeevi health insurance",
        "title_hi": "चिरंजीवी स्वास्थ्य बीमा",
        "body_en": (
            "Health insurance for your whole family: treatment without paying in the listed "
            "government and private hospitals.\n"
            "The family is registered by its Jan Aadhaar number.\n"
            "At the hospital, show your Jan Aadhaar card at the insurance desk.\n"
            "Helpline: 181."
        ),
        "body_hi": (
            "पूरे परिवार का स्वास्थ्य बीमा: सूची वाले सरकारी और निजी अस्पतालों में बिना पैसे दिए "
            "इलाज।\n"
            "परिवार का पंजीकरण जन आधार नंबर से होता है।\n"
            "अस्पताल में बीमा काउंटर पर अपना जन आधार कार्ड दिखाएँ।\n"
            "हेल्पलाइन: 181।"
        ),
    },
    {
        "code": "palanhar", "version": "1", "picture": ("child", "png"),
        "title_en": "Palanhar scheme",
        "title_hi": "पालनहार योजना",
        "body_en": (
            "Monthly help for a relative or guardian who brings up a child whose parents have "
            "died or cannot care for them (for example a widow's child).\n"
            "The child must go to school or anganwadi; help continues until 18 years.\n"
            "What you need: Jan Aadhaar card, the child's school certificate and the reason "
            "papers (for example a death certificate)."
        ),
        "body_hi": (
            "ऐसे बच्चे को पालने वाले रिश्तेदार या संरक्षक को हर महीने मदद, जिसके माता-पिता नहीं "
            "रहे या देखभाल नहीं कर सकते (जैसे विधवा माँ का बच्चा)।\n"
            "बच्चे का स्कूल या आँगनबाड़ी जाना ज़रूरी है; मदद 18 साल तक मिलती है।\n"
            "क्या चाहिए: जन आधार कार्ड, बच्चे का स्कूल प्रमाण-पत्र और कारण के कागज़ "
            "(जैसे मृत्यु प्रमाण-पत्र)।"
        ),
    },
    {
        "code": "labour_card", "version": "1", "picture": ("tools", "png"),
        "title_en": "Labour card benefits",
        "title_hi": "श्रमिक कार्ड के लाभ",
        "body_en": (
            "Construction workers registered with the labour board get help for their family:\n"
            "scholarships for children at school and college, help at a daughter's wedding, "
            "money for tools, and help after an accident.\n"
            "What you need: the labour card (or apply for one), Jan Aadhaar card and a "
            "certificate of 90 days of work in the last year."
        ),
        "body_hi": (
            "श्रम बोर्ड में पंजीकृत निर्माण श्रमिकों के परिवार को मदद:\n"
            "स्कूल और कॉलेज में पढ़ रहे बच्चों को छात्रवृत्ति, बेटी की शादी में मदद, औज़ारों के "
            "लिए पैसा, और दुर्घटना के बाद मदद।\n"
            "क्या चाहिए: श्रमिक कार्ड (या उसका आवेदन), जन आधार कार्ड और पिछले साल 90 दिन काम का "
            "प्रमाण-पत्र।"
        ),
    },
]

PICTURE_SIZE = (480, 300)
_COLOURS = {"pension": ((255, 243, 224), (230, 126, 34)), "health": ((232, 245, 233),
            (46, 125, 50)), "child": ((227, 242, 253), (21, 101, 192)),
            "tools": ((255, 248, 225), (176, 96, 0))}


@functools.cache
def picture(kind: str, fmt: str) -> bytes:
    """A flat pictogram for a page: an elder with a stick and a coin, a cross, a guardian
    holding a child's hand, a hammer and a spanner."""
    from PIL import Image, ImageDraw

    back, ink = _COLOURS[kind]
    img = Image.new("RGB", PICTURE_SIZE, back)
    d = ImageDraw.Draw(img)
    w, h = PICTURE_SIZE
    d.rounded_rectangle((12, 12, w - 12, h - 12), radius=24, outline=ink, width=6)
    cx, cy = w // 2, h // 2
    if kind == "pension":
        d.ellipse((cx - 34, 50, cx + 34, 118), fill=ink)  # head
        d.rounded_rectangle((cx - 40, 124, cx + 40, 236), radius=20, fill=ink)  # body
        d.line((cx + 70, 130, cx + 70, 250), fill=ink, width=10)  # stick
        d.arc((cx + 40, 110, cx + 80, 150), 180, 360, fill=ink, width=10)
        d.ellipse((60, 190, 130, 260), outline=ink, width=8)  # a coin
        d.ellipse((84, 214, 106, 236), fill=ink)
    elif kind == "health":
        d.rectangle((cx - 28, cy - 90, cx + 28, cy + 90), fill=ink)
        d.rectangle((cx - 90, cy - 28, cx + 90, cy + 28), fill=ink)
    elif kind == "child":
        d.ellipse((cx - 110, 60, cx - 50, 120), fill=ink)  # the guardian
        d.rounded_rectangle((cx - 120, 126, cx - 40, 250), radius=20, fill=ink)
        d.ellipse((cx + 30, 110, cx + 76, 156), fill=ink)  # the child
        d.rounded_rectangle((cx + 22, 160, cx + 84, 250), radius=16, fill=ink)
        d.line((cx - 40, 170, cx + 22, 180), fill=ink, width=10)  # holding hands
    else:  # tools: a hammer and a spanner
        d.rectangle((cx - 10, 90, cx + 10, 250), fill=ink)
        d.rounded_rectangle((cx - 70, 60, cx + 70, 110), radius=10, fill=ink)
        d.line((cx + 60, 240, cx + 150, 130), fill=ink, width=16)
        d.ellipse((cx + 125, 95, cx + 185, 155), outline=ink, width=14)
    out = io.BytesIO()
    if fmt == "jpeg":
        img.save(out, "JPEG", quality=80)
    else:
        img.save(out, "PNG", optimize=True)
    return out.getvalue()


def index() -> dict[str, Any]:
    """GET /v1/schemes: the version of the whole set and each page's code and version."""
    return {"version": VERSION,
            "pages": [{"code": p["code"], "version": p["version"], "title_en": p["title_en"],
                       "title_hi": p["title_hi"]} for p in PAGES]}


def page(code: str) -> dict[str, Any] | None:
    """GET /v1/schemes/{code}: one page with its words and its picture (base64)."""
    found = next((p for p in PAGES if p["code"] == code), None)
    if found is None:
        return None
    kind, fmt = found["picture"]
    return {"code": code, "version": found["version"],
            **{k: found[k] for k in ("title_en", "title_hi", "body_en", "body_hi")},
            "image": {"type": fmt,
                      "data_b64": base64.b64encode(picture(kind, fmt)).decode()}}
