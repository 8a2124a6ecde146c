"""Voice guidance: which sentence is said on which state change (screens/accessibility_voice.py,
with the real translations), and how screens/voice.py hands it to espeak-ng (the command, the
headphone-only rule, the spoken log; a WAV rendered where there is no sound card)."""

from __future__ import annotations

import json
import shutil
import subprocess
import wave

import pytest

from screens.accessibility_voice import Narrator, joined, spoken_amount
from screens.i18n import Translator
from screens.voice import Voice, engine_command

TR = Translator().text


def paying(paid: int, remaining: int, returned: dict | None = None, sid: str = "S-1") -> dict:
    return {"screen": "PAYING", "session": {"session_id": sid, "paid_paise": paid,
                                            "remaining_paise": remaining,
                                            "last_returned": returned}}


def narrator() -> tuple[Narrator, list[tuple[str, str]]]:
    heard: list[tuple[str, str]] = []
    return Narrator(lambda text, lang: heard.append((lang, text)), TR), heard


def test_amounts_are_said_in_rupees_and_paise():
    assert spoken_amount(14000, "hi", TR) == "140 रुपये"
    assert spoken_amount(64050, "en", TR) == "640 rupees 50 paise"
    assert joined(["नोट डालें", "और डालने हैं 640 रुपये।"], "hi") == \
        "नोट डालें। और डालने हैं 640 रुपये।"


@pytest.mark.parametrize("lang,words", [
    ("hi", ["नोट डालें। और डालने हैं 640 रुपये।",
            "आपने डाले 500 रुपये। और डालने हैं 140 रुपये।",
            "500 रुपये का नोट वापस आ गया है, ले लें। 500 रुपये का नोट बाकी 140 रुपये से बड़ा है।"]),
    ("en", ["Insert a note. Still to put in 640 rupees.",
            "You have put in 500 rupees. Still to put in 140 rupees.",
            "Your note of 500 rupees was returned, take it back. "
            "500 rupees is more than the 140 rupees still due."]),
])
def test_paying_says_the_instruction_what_was_paid_and_a_refused_note(lang, words):
    voice, heard = narrator()
    voice.drawn("paying", "insert_note", paying(0, 64000), lang)
    voice.drawn("paying", "insert_note", paying(0, 64000), lang)  # redrawn: nothing new
    voice.drawn("paying", "insert_note", paying(50000, 14000), lang)
    too_big = {"paise": 50000, "reason": "too_much", "message_key": "note_too_large"}
    voice.drawn("paying", "insert_note", paying(50000, 14000, too_big), lang)
    voice.drawn("paying", "insert_note", paying(50000, 14000, too_big), lang)
    assert [text for _lang, text in heard] == words
    assert {said_lang for said_lang, _ in heard} == {lang}


def test_a_note_not_recognised_says_why_from_its_message():
    voice, heard = narrator()
    voice.drawn("paying", "insert_note", paying(0, 64000), "hi")
    odd = {"paise": None, "reason": "unknown", "message_key": "note_not_recognised"}
    said = voice.drawn("paying", "insert_note", paying(0, 64000, odd), "hi")
    assert said == ["यह नोट वापस आ गया है, ले लें।", TR("note_not_recognised", "hi")]
    assert heard[-1][1].startswith("यह नोट वापस आ गया है, ले लें। ")


def test_card_then_receipt_then_done():
    voice, heard = narrator()
    card = {"screen": "CARD", "session": {"session_id": "S-2"}}
    voice.drawn("card", "card_insert_card", card, "hi")
    voice.drawn("card", "card_enter_pin", card, "hi")  # the step changed on the same screen
    voice.drawn("processing", "take_card", {"screen": "POSTING",
                                            "session": {"session_id": "S-2"}}, "hi")
    done = {"screen": "DONE", "message": {"key": "payment_successful"},
            "session": {"session_id": "S-2", "paid_paise": 64000}}
    voice.drawn("done", "take_receipt", done, "hi")
    texts = [text for _lang, text in heard]
    assert texts == [
        TR("card_insert_card", "hi") + "।",
        TR("card_enter_pin", "hi") + "।",
        "अपना कार्ड निकालें।",
        "भुगतान हो गया। अपनी रसीद लें।",
    ]


def test_replay_says_the_last_words_or_the_screens_instruction():
    voice, heard = narrator()
    voice.drawn("paying", "insert_note", paying(0, 64000), "hi")
    voice.drawn("paying", "insert_note", paying(50000, 14000), "hi")
    # the last change, and what to do now
    assert voice.replay("insert_note", "hi") == \
        "आपने डाले 500 रुपये। और डालने हैं 140 रुपये। नोट डालें।"
    # the citizen switched language since: the instruction in the new one
    assert voice.replay("insert_note", "en") == "Insert a note."
    assert heard[-1] == ("en", "Insert a note.")


def test_a_new_session_is_not_told_the_last_ones_amounts():
    voice, heard = narrator()
    voice.drawn("paying", "insert_note", paying(50000, 14000, sid="S-1"), "hi")
    heard.clear()
    voice.drawn("attract", "attract_touch", {"screen": "IDLE", "session": None}, "hi")
    voice.drawn("paying", "insert_note", paying(0, 35000, sid="S-2"), "hi")
    assert [text for _lang, text in heard] == [
        TR("attract_touch", "hi") + "।", "नोट डालें। और डालने हैं 350 रुपये।"]


def test_engine_command_per_language_and_bounded():
    assert engine_command("/usr/bin/espeak-ng", "hi", "नोट डालें", False) == [
        "/usr/bin/espeak-ng", "-v", "hi", "-s", "140", "नोट डालें"]
    english = engine_command("espeak-ng", "en", "x" * 5000, True)
    assert english[1] == "--stdout" and english[3] == "en-gb" and len(english[-1]) == 600


def test_headphone_mode_without_a_device_stays_silent(tmp_path, monkeypatch):
    log = tmp_path / "voice.jsonl"
    monkeypatch.setenv("EMITRA_VOICE_LOG", str(log))
    voice = Voice(True, headphones=True)
    assert not voice.available and not voice.active
    voice.say("नोट डालें", "hi")
    assert not log.exists() and voice.spoken == []
    # a device named but no aplay to reach it: silent too, never the loudspeaker
    monkeypatch.setattr(shutil, "which", lambda name: None if name == "aplay" else "/bin/true")
    assert not Voice(True, device="plughw:CARD=Headphones", headphones=True).available


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
def test_what_would_reach_the_sink_is_hindi_speech(tmp_path, monkeypatch):
    """No sound card in the test machine: render the sentence the way the device pipe gets it
    (espeak-ng --stdout) and check it is sound, of a length that fits the words."""
    log = tmp_path / "voice.jsonl"
    monkeypatch.setenv("EMITRA_VOICE_LOG", str(log))
    voice = Voice(True)
    assert voice.active
    voice.say("आपने डाले 500 रुपये।", "hi")
    voice.stop()
    said = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert [(x["lang"], x["text"]) for x in said] == [("hi", "आपने डाले 500 रुपये।")]
    command = engine_command(shutil.which("espeak-ng"), "hi", said[0]["text"], True)
    pcm = subprocess.run(command, capture_output=True, check=True, timeout=30).stdout
    wav = tmp_path / "said.wav"
    wav.write_bytes(pcm)
    with wave.open(str(wav)) as audio:  # a streaming header: its frame count is a placeholder
        rate, width = audio.getframerate(), audio.getsampwidth()
    samples = memoryview(pcm[44:]).cast("h")
    seconds = len(samples) / rate
    assert width == 2 and 1.0 < seconds < 6.0, seconds
    assert max(abs(v) for v in samples) > 3000  # speech, not silence
