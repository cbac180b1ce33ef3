#!/usr/bin/python3
"""A desktop's tray, for tests: a StatusNotifierWatcher and host on a private session bus.

Owns org.kde.StatusNotifierWatcher on the bus given by --address, the way a panel does (KDE
Plasma, GNOME's AppIndicator extension, waybar), and says a host is registered, so an app using
libayatana-appindicator shows its tray icon here. Tests read what the panel would show and click
the tray menu the way the agent would, through the extra interface org.softphone.Test on
/StatusNotifierWatcher:

    Snapshot() -> s     JSON: {"registrations": n, "items": [{"bus_name", "path", "properties",
                        "menu": [{"id", "label", "type", "enabled", "visible", "toggle_type",
                        "toggle_state"}, ...]}]}, read from the items now (StatusNotifierItem
                        properties, com.canonical.dbusmenu GetLayout)
    Click(s label)      the agent clicks the newest item's menu entry with that label
                        (com.canonical.dbusmenu Event "clicked"); an error lists the labels if
                        there is none

An item whose owner leaves the bus is forgotten, as a panel drops its icon.
Prints READY on stdout once it owns the name; exits when the bus goes away or on SIGTERM.
Needs Debian's python3-dbus and python3-gi (run it with /usr/bin/python3).
"""

import argparse
import json
import sys

import dbus
import dbus.service

from dbus_test_service import plain, serve

BUS_NAME = "org.kde.StatusNotifierWatcher"
OBJECT_PATH = "/StatusNotifierWatcher"
WATCHER = "org.kde.StatusNotifierWatcher"
ITEM = "org.kde.StatusNotifierItem"
MENU = "com.canonical.dbusmenu"
PROPERTIES = "org.freedesktop.DBus.Properties"
TEST = "org.softphone.Test"
CALL_TIMEOUT_S = 5


def flatten(node, entries):
    """A dbusmenu layout (id, properties, children) as a list of entries, depth first, root left out."""
    node_id, properties, children = node
    if int(node_id) != 0:
        entries.append(
            {
                "id": int(node_id),
                "label": str(properties.get("label", "")),
                "type": str(properties.get("type", "standard")),
                "enabled": bool(properties.get("enabled", True)),
                "visible": bool(properties.get("visible", True)),
                "toggle_type": str(properties.get("toggle-type", "")),
                "toggle_state": int(properties.get("toggle-state", -1)),
            }
        )
    for child in children:
        flatten(child, entries)
    return entries


class Watcher(dbus.service.Object):
    def __init__(self, connection):
        super().__init__(connection, OBJECT_PATH)
        self.bus = connection
        self.items = []  # (bus_name, path), oldest first
        self.registrations = 0
        connection.add_signal_receiver(
            self.name_owner_changed,
            signal_name="NameOwnerChanged",
            dbus_interface="org.freedesktop.DBus",
            bus_name="org.freedesktop.DBus",
        )

    def name_owner_changed(self, name, _old_owner, new_owner):
        if new_owner == "":
            gone = [item for item in self.items if item[0] == name]
            self.items = [item for item in self.items if item[0] != name]
            for bus_name, path in gone:
                self.StatusNotifierItemUnregistered(f"{bus_name}{path}")

    @dbus.service.method(WATCHER, in_signature="s", out_signature="", sender_keyword="sender")
    def RegisterStatusNotifierItem(self, service, sender=None):
        # libayatana-appindicator sends its object path; other items send a bus name.
        if str(service).startswith("/"):
            item = (str(sender), str(service))
        else:
            item = (str(service), "/StatusNotifierItem")
        self.registrations += 1
        if item not in self.items:
            self.items.append(item)
        self.StatusNotifierItemRegistered(f"{item[0]}{item[1]}")

    @dbus.service.method(WATCHER, in_signature="s", out_signature="")
    def RegisterStatusNotifierHost(self, _service):
        pass

    @dbus.service.signal(WATCHER, signature="s")
    def StatusNotifierItemRegistered(self, service):
        pass

    @dbus.service.signal(WATCHER, signature="s")
    def StatusNotifierItemUnregistered(self, service):
        pass

    @dbus.service.signal(WATCHER, signature="")
    def StatusNotifierHostRegistered(self):
        pass

    def watcher_properties(self):
        return {
            "RegisteredStatusNotifierItems": dbus.Array([f"{name}{path}" for name, path in self.items], signature="s"),
            "IsStatusNotifierHostRegistered": dbus.Boolean(True),
            "ProtocolVersion": dbus.Int32(0),
        }

    @dbus.service.method(PROPERTIES, in_signature="ss", out_signature="v")
    def Get(self, interface, name):
        if interface != WATCHER or name not in self.watcher_properties():
            raise dbus.exceptions.DBusException(
                f"no property {interface}.{name}", name="org.freedesktop.DBus.Error.UnknownProperty"
            )
        return self.watcher_properties()[name]

    @dbus.service.method(PROPERTIES, in_signature="s", out_signature="a{sv}")
    def GetAll(self, interface):
        return self.watcher_properties() if interface == WATCHER else {}

    def menu_of(self, bus_name, menu_path):
        menu = dbus.Interface(self.bus.get_object(bus_name, menu_path, introspect=False), MENU)
        _revision, layout = menu.GetLayout(0, -1, dbus.Array([], signature="s"), timeout=CALL_TIMEOUT_S)
        return menu, flatten(layout, [])

    def describe(self, bus_name, path):
        item = self.bus.get_object(bus_name, path, introspect=False)
        properties = plain(dbus.Interface(item, PROPERTIES).GetAll(ITEM, timeout=CALL_TIMEOUT_S))
        properties.pop("IconPixmap", None)  # pixels, not what a test reads
        menu_path = properties.get("Menu")
        entries = self.menu_of(bus_name, menu_path)[1] if menu_path else []
        return {"bus_name": bus_name, "path": path, "properties": properties, "menu": entries}

    @dbus.service.method(TEST, in_signature="", out_signature="s")
    def Snapshot(self):
        items = []
        for name, path in list(self.items):
            try:
                items.append(self.describe(name, path))
            except dbus.exceptions.DBusException:
                # The app left the bus while it was being read (it was ended): a panel drops its
                # icon, as NameOwnerChanged will here. An app still on the bus that fails is an error.
                if self.bus.name_has_owner(name):
                    raise
        return json.dumps({"registrations": self.registrations, "items": items})

    @dbus.service.method(TEST, in_signature="s", out_signature="")
    def Click(self, label):
        if not self.items:
            raise dbus.exceptions.DBusException("no tray item is registered", name="org.softphone.Test.Error.NoItem")
        bus_name, path = self.items[-1]
        item = self.bus.get_object(bus_name, path, introspect=False)
        menu_path = dbus.Interface(item, PROPERTIES).Get(ITEM, "Menu", timeout=CALL_TIMEOUT_S)
        menu, entries = self.menu_of(bus_name, menu_path)
        label = str(label)
        matching = [entry for entry in entries if entry["label"] == label]
        if not matching:
            labels = [entry["label"] for entry in entries]
            raise dbus.exceptions.DBusException(
                f"no menu entry {label!r}; the menu has {labels}", name="org.softphone.Test.Error.NoEntry"
            )
        menu.Event(
            dbus.Int32(matching[0]["id"]),
            "clicked",
            dbus.Int32(0, variant_level=1),
            dbus.UInt32(0),
            timeout=CALL_TIMEOUT_S,
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", required=True, help="D-Bus address of the bus to serve on")
    args = parser.parse_args()
    return serve(args.address, BUS_NAME, Watcher, on_named=lambda watcher: watcher.StatusNotifierHostRegistered())


if __name__ == "__main__":
    sys.exit(main())
