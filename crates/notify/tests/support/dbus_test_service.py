"""What the test helpers on a private session bus share (notification_daemon.py here, and the
end-to-end suite's tray_host.py, which finds this module through PYTHONPATH).

serve() connects to the bus, builds the helper's objects, owns its well-known name, prints READY
and runs until the bus goes away or SIGTERM. plain() turns D-Bus values into JSON-ready Python.
Needs Debian's python3-dbus and python3-gi.
"""

import signal

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib


def plain(value):
    """A D-Bus value as JSON-compatible Python."""
    if isinstance(value, dbus.Boolean):
        return bool(value)
    if isinstance(value, (dbus.Byte, dbus.Int16, dbus.UInt16, dbus.Int32, dbus.UInt32, dbus.Int64, dbus.UInt64)):
        return int(value)
    if isinstance(value, dbus.Double):
        return float(value)
    if isinstance(value, (dbus.String, dbus.ObjectPath, dbus.Signature)):
        return str(value)
    if isinstance(value, dbus.Dictionary):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (dbus.Array, dbus.Struct, list, tuple)):
        return [plain(item) for item in value]
    return value


def serve(address, bus_name, make_service, on_named=None):
    """Serves make_service(connection) as bus_name on the bus at address until the bus goes away or
    SIGTERM; on_named(service) runs once the name is owned, before READY is printed."""
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    connection = dbus.bus.BusConnection(address)
    loop = GLib.MainLoop()
    connection.call_on_disconnection(lambda _connection: loop.quit())
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    service = make_service(connection)
    name = dbus.service.BusName(bus_name, bus=connection, do_not_queue=True)
    if on_named is not None:
        on_named(service)
    print("READY", flush=True)
    loop.run()
    del name, service
    return 0
