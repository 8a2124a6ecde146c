"""The launcher of the two processes (`emitra-kiosk core` and `emitra-kiosk ui`), kept outside
both packages: the core (terminal/) never imports the screen (screens/, Kivy)."""
