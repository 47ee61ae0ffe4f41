#!/usr/bin/python3
"""A minimal org.kde.StatusNotifierWatcher with one registered host, for tests.

A desktop that shows tray icons (a StatusNotifier host) registers with this watcher; the app
asks the watcher's IsStatusNotifierHostRegistered property to decide whether closing its window
may hide it to the tray. Usage: snwatcher.py  (prints "ready" once the name is owned).
"""
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

    @dbus.service.method(IFACE, in_signature="s")
    def RegisterStatusNotifierItem(self, service):
        pass

    @dbus.service.method(IFACE, in_signature="s")
    def RegisterStatusNotifierHost(self, service):
        pass


DBusGMainLoop(set_as_default=True)
bus = dbus.SessionBus()
name = dbus.service.BusName(IFACE, bus, do_not_queue=True)
Watcher(bus, "/StatusNotifierWatcher")
print("ready", flush=True)
GLib.MainLoop().run()
