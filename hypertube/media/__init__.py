"""Media: probing with PyAV, direct/remux/transcode decisions, HLS segments and subtitles."""
