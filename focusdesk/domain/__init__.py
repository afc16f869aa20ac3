"""Pure rules of FocusDesk: no I/O, no framework imports.

Everything here is plain Python so the server, the station and the tests can share it.
"""
