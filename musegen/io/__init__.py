"""Reading and writing music: MIDI and MusicXML files, corpora, tracks, audio.

One module per concept; every public name is importable from `musegen` too.

- `musegen.io._midi_common`
- `musegen.io.audio`
- `musegen.io.corpus`
- `musegen.io.midi_fast`
- `musegen.io.reading`
- `musegen.io.splice`: new bars spliced into a MIDI file, everything else kept
- `musegen.io.tracks`
- `musegen.io.writing`
"""
