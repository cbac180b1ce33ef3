#!/usr/bin/python3
"""Closes X11 windows the way a window manager does when the user clicks the title bar's close
button: a WM_DELETE_WINDOW client message (ICCCM 4.2.8.1). The application sees a close request
and shuts down normally, unlike a killed process.

Usage: close_window.py WINDOW_ID...   (decimal ids, e.g. from `xdotool search --pid PID`)
Uses $DISPLAY and libX11 through ctypes (no python3-xlib needed).
"""

import ctypes
import ctypes.util
import sys

CLIENT_MESSAGE = 33
NO_EVENT_MASK = 0
CURRENT_TIME = 0


class XClientMessageEvent(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("serial", ctypes.c_ulong),
        ("send_event", ctypes.c_int),
        ("display", ctypes.c_void_p),
        ("window", ctypes.c_ulong),
        ("message_type", ctypes.c_ulong),
        ("format", ctypes.c_int),
        ("data", ctypes.c_long * 5),
    ]


class XEvent(ctypes.Union):
    _fields_ = [("xclient", XClientMessageEvent), ("pad", ctypes.c_long * 24)]


def main():
    windows = [int(arg) for arg in sys.argv[1:]]
    if not windows:
        print("usage: close_window.py WINDOW_ID...", file=sys.stderr)
        return 2
    xlib = ctypes.cdll.LoadLibrary(ctypes.util.find_library("X11") or "libX11.so.6")
    xlib.XOpenDisplay.restype = ctypes.c_void_p
    xlib.XOpenDisplay.argtypes = [ctypes.c_char_p]
    xlib.XInternAtom.restype = ctypes.c_ulong
    xlib.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    xlib.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long, ctypes.c_void_p]
    xlib.XFlush.argtypes = [ctypes.c_void_p]
    xlib.XCloseDisplay.argtypes = [ctypes.c_void_p]
    display = xlib.XOpenDisplay(None)
    if not display:
        print("cannot open the X display ($DISPLAY)", file=sys.stderr)
        return 1
    protocols = xlib.XInternAtom(display, b"WM_PROTOCOLS", 0)
    delete_window = xlib.XInternAtom(display, b"WM_DELETE_WINDOW", 0)
    for window in windows:
        event = XEvent()
        event.xclient.type = CLIENT_MESSAGE
        event.xclient.window = window
        event.xclient.message_type = protocols
        event.xclient.format = 32
        event.xclient.data[0] = delete_window
        event.xclient.data[1] = CURRENT_TIME
        xlib.XSendEvent(display, window, 0, NO_EVENT_MASK, ctypes.byref(event))
    xlib.XFlush(display)
    xlib.XCloseDisplay(display)
    return 0


if __name__ == "__main__":
    sys.exit(main())
