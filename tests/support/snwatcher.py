#!/usr/bin/python3
"""A minimal org.kde.StatusNotifierWatcher with one registered host, for tests.

A desktop that shows tray icons (a StatusNotifier host) registers with this watcher; the app
asks the watcher's IsStatusNotifierHostRegistered property to decide whether closing its window
may hide it to the tray. An app with a tray icon registers its item here; with a log file,
each registration is appended to it as a JSON line {"item": <service or path>, "sender":
<the app's bus name>}, so a test can read the item's properties (its icon) over the bus.
Usage: snwatcher.py [LOG]  (prints "ready" once the name is owned).
"""
import json
import sys

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

IFACE = "org.kde.StatusNotifierWatcher"


class Watcher(dbus.service.Object):
    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="ss", out_signature="v")
    def Get(self, interface, prop):
        return self.GetAll(interface)[prop]

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="s", out_signature="a{sv}")
    def GetAll(self, interface):
        if interface != IFACE:
            raise dbus.exceptions.DBusException("org.freedesktop.DBus.Error.UnknownInterface")
        return {
            "IsStatusNotifierHostRegistered": dbus.Boolean(True),
            "ProtocolVersion": dbus.Int32(0),
            "RegisteredStatusNotifierItems": dbus.Array([], signature="s"),
        }

    @dbus.service.method(IFACE, in_signature="s", sender_keyword="sender")
    def RegisterStatusNotifierItem(self, service, sender=None):
        if len(sys.argv) > 1:
            with open(sys.argv[1], "a") as log:
                log.write(json.dumps({"item": str(service), "sender": str(sender)}) + "\n")

    @dbus.service.method(IFACE, in_signature="s")
    def RegisterStatusNotifierHost(self, service):
        pass


DBusGMainLoop(set_as_default=True)
bus = dbus.SessionBus()
name = dbus.service.BusName(IFACE, bus, do_not_queue=True)
Watcher(bus, "/StatusNotifierWatcher")
print("ready", flush=True)
GLib.MainLoop().run()
