"""Shared test set-up. Kivy must not parse pytest's arguments, and must render offscreen."""

import os
import sys
from pathlib import Path

os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
os.environ.setdefault("KIVY_HOME", str(Path(__file__).parent / ".kivy-home"))

sys.path.insert(0, str(Path(__file__).parent))
