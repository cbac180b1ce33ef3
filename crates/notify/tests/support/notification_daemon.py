#!/usr/bin/python3
"""A recording org.freedesktop.Notifications server for tests.

Owns org.freedesktop.Notifications on the bus given by --address, answers like a desktop
notification daemon (GetCapabilities, GetServerInformation, Notify, CloseNotification and the
NotificationClosed / ActionInvoked signals) and appends one JSON object per line to --record for
every Notify, CloseNotification and invoked action. Tests act as the user through the extra
interface org.softphone.Test on the same object:

    InvokeAction(u id, s action_key)   the user clicks a button ("default" = the body)
    Dismiss(u id)                      the user closes the popup (NotificationClosed reason 2)
    Expire(u id)                       the popup times out (NotificationClosed reason 1)

--click-on-notify KEY invokes KEY on every new notification right after the Notify reply, like a
user who clicks within a millisecond (a client that subscribes after sending loses that click).

Prints READY on stdout once it owns the name; exits when the bus goes away or on SIGTERM.
Needs Debian's python3-dbus and python3-gi (run it with /usr/bin/python3).
"""

import argparse
import json
import sys
import time

import dbus
import dbus.service
from gi.repository import GLib

from dbus_test_service import plain, serve

BUS_NAME = "org.freedesktop.Notifications"
OBJECT_PATH = "/org/freedesktop/Notifications"
NOTIFICATIONS = "org.freedesktop.Notifications"
TEST = "org.softphone.Test"

REASON_EXPIRED = 1
REASON_DISMISSED = 2
REASON_CLOSED_BY_CALL = 3


def type_code(value):
    """The D-Bus type code a hint was sent with ("y" for urgency, per the specification)."""
    for cls, code in (
        (dbus.Boolean, "b"),
        (dbus.Byte, "y"),
        (dbus.Int16, "n"),
        (dbus.UInt16, "q"),
        (dbus.Int32, "i"),
        (dbus.UInt32, "u"),
        (dbus.Int64, "x"),
        (dbus.UInt64, "t"),
        (dbus.Double, "d"),
        (dbus.String, "s"),
        (dbus.ObjectPath, "o"),
        (dbus.Array, "a"),
        (dbus.Struct, "r"),
    ):
        if isinstance(value, cls):
            return code
    return "?"


class RecordingServer(dbus.service.Object):
    def __init__(self, connection, record, capabilities, click_on_notify):
        super().__init__(connection, OBJECT_PATH)
        self.record_file = open(record, "a", encoding="utf-8")
        self.capabilities = capabilities
        self.click_on_notify = click_on_notify
        self.next_id = 1
        self.open = {}  # id -> resident

    def record(self, entry):
        self.record_file.write(json.dumps(entry) + "\n")
        self.record_file.flush()

    @dbus.service.method(NOTIFICATIONS, in_signature="", out_signature="as")
    def GetCapabilities(self):
        return self.capabilities

    @dbus.service.method(NOTIFICATIONS, in_signature="", out_signature="ssss")
    def GetServerInformation(self):
        return ("softphone-recording-daemon", "softphone tests", "1.0", "1.2")

    @dbus.service.method(NOTIFICATIONS, in_signature="susssasa{sv}i", out_signature="u")
    def Notify(self, app_name, replaces_id, app_icon, summary, body, actions, hints, expire_timeout):
        received_unix_ns = time.time_ns()
        replaces_id = int(replaces_id)
        if replaces_id != 0 and replaces_id in self.open:
            notification_id = replaces_id
        else:
            notification_id = self.next_id
            self.next_id += 1
        self.open[notification_id] = bool(hints.get("resident", False))
        self.record(
            {
                "method": "Notify",
                "id": notification_id,
                "app_name": str(app_name),
                "replaces_id": replaces_id,
                "app_icon": str(app_icon),
                "summary": str(summary),
                "body": str(body),
                "actions": plain(actions),
                "hints": plain(hints),
                "hint_types": {str(key): type_code(value) for key, value in hints.items()},
                "expire_timeout": int(expire_timeout),
                "received_unix_ns": received_unix_ns,
            }
        )
        if self.click_on_notify and replaces_id == 0:
            GLib.idle_add(self.click, notification_id, self.click_on_notify)
        return notification_id

    @dbus.service.method(NOTIFICATIONS, in_signature="u", out_signature="")
    def CloseNotification(self, notification_id):
        notification_id = int(notification_id)
        self.record({"method": "CloseNotification", "id": notification_id, "received_unix_ns": time.time_ns()})
        self.close(notification_id, REASON_CLOSED_BY_CALL)

    @dbus.service.signal(NOTIFICATIONS, signature="uu")
    def NotificationClosed(self, notification_id, reason):
        pass

    @dbus.service.signal(NOTIFICATIONS, signature="us")
    def ActionInvoked(self, notification_id, action_key):
        pass

    @dbus.service.method(TEST, in_signature="us", out_signature="")
    def InvokeAction(self, notification_id, action_key):
        notification_id = int(notification_id)
        if notification_id not in self.open:
            raise dbus.exceptions.DBusException(
                f"notification {notification_id} is not open", name="org.softphone.Test.Error.NotOpen"
            )
        self.click(notification_id, str(action_key))

    @dbus.service.method(TEST, in_signature="u", out_signature="")
    def Dismiss(self, notification_id):
        self.close(int(notification_id), REASON_DISMISSED)

    @dbus.service.method(TEST, in_signature="u", out_signature="")
    def Expire(self, notification_id):
        self.close(int(notification_id), REASON_EXPIRED)

    def click(self, notification_id, action_key):
        self.record({"method": "ActionInvoked", "id": notification_id, "action_key": action_key})
        self.ActionInvoked(dbus.UInt32(notification_id), action_key)
        # Like GNOME Shell and dunst: a click closes the popup unless it is resident.
        if not self.open.get(notification_id, True):
            self.close(notification_id, REASON_DISMISSED)
        return False  # as a GLib idle callback: run once

    def close(self, notification_id, reason):
        if self.open.pop(notification_id, None) is not None:
            self.NotificationClosed(dbus.UInt32(notification_id), dbus.UInt32(reason))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", required=True, help="D-Bus address of the bus to serve on")
    parser.add_argument("--record", required=True, help="file to append JSON lines to")
    parser.add_argument("--capabilities", default="actions,body,persistence", help="comma-separated")
    parser.add_argument("--click-on-notify", default=None, help="action key to invoke on every new notification")
    args = parser.parse_args()
    capabilities = [item for item in args.capabilities.split(",") if item]
    return serve(
        args.address,
        BUS_NAME,
        lambda connection: RecordingServer(connection, args.record, capabilities, args.click_on_notify),
    )


if __name__ == "__main__":
    sys.exit(main())
