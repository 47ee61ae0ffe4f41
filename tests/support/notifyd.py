#!/usr/bin/python3
"""A minimal org.freedesktop.Notifications daemon for tests.

It owns the well-known name on the session bus and appends every Notify call to a JSON-lines
file, so a test can assert that the app raised a notification with the right summary and body.
Usage: notifyd.py LOGFILE  (prints "ready" once the name is owned).
"""
import json
import sys

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

LOG = sys.argv[1]


class Daemon(dbus.service.Object):
    next_id = 1

    @dbus.service.method("org.freedesktop.Notifications", in_signature="susssasa{sv}i", out_signature="u")
    def Notify(self, app_name, replaces_id, app_icon, summary, body, actions, hints, timeout):
        with open(LOG, "a") as f:
            f.write(json.dumps({"app": str(app_name), "summary": str(summary), "body": str(body)}) + "\n")
        Daemon.next_id += 1
        return Daemon.next_id

    @dbus.service.method("org.freedesktop.Notifications", out_signature="as")
    def GetCapabilities(self):
        return ["body"]

    @dbus.service.method("org.freedesktop.Notifications", out_signature="ssss")
    def GetServerInformation(self):
        return ("tern-test-notifyd", "tern", "1.0", "1.2")

    @dbus.service.method("org.freedesktop.Notifications", in_signature="u")
    def CloseNotification(self, nid):
        pass


DBusGMainLoop(set_as_default=True)
bus = dbus.SessionBus()
name = dbus.service.BusName("org.freedesktop.Notifications", bus, do_not_queue=True)
Daemon(bus, "/org/freedesktop/Notifications")
print("ready", flush=True)
GLib.MainLoop().run()
