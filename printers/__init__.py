"""Badge rendering, printer drivers, transports and virtual printers.

Plain Python with no focusdesk import; built in the printers issue.
"""
