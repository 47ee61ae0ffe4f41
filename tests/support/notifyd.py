#!/usr/bin/python3
"""A minimal org.freedesktop.Notifications daemon for tests.

It owns the well-known name on the session bus and appends every Notify call to a JSON-lines
file (with the id it answered and the id the call replaced), so a test can assert that the app
raised a notification with the right summary and body and updated it in place. A test clicks a
notification by calling the extra `Click(id)` method (for example with dbus-send): the daemon
then emits ActionInvoked(id, "default") as a real server does when the user clicks. It also
offers inline replies the way KDE Plasma does (capability "inline-reply"; the extra method
`Reply(id, text)` emits NotificationReplied(id, text) as the server does when the user types a
reply into the notification). `Invoke(id, action)` emits ActionInvoked(id, action), as a server
does when the user presses one of the notification's buttons. A CloseNotification call is
logged as {"closed": id}.
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
        if replaces_id:
            nid = int(replaces_id)
        else:
            Daemon.next_id += 1
            nid = Daemon.next_id
        with open(LOG, "a") as f:
            f.write(json.dumps({"app": str(app_name), "summary": str(summary), "body": str(body),
                                "icon": str(app_icon),
                                "desktop_entry": str(hints.get("desktop-entry", "")),
                                "id": nid, "replaces": int(replaces_id),
                                "actions": [str(a) for a in actions]}) + "\n")
        return nid

    @dbus.service.signal("org.freedesktop.Notifications", signature="us")
    def ActionInvoked(self, nid, action):
        pass

    @dbus.service.signal("org.freedesktop.Notifications", signature="uu")
    def NotificationClosed(self, nid, reason):
        pass

    @dbus.service.method("org.freedesktop.Notifications", in_signature="u")
    def Click(self, nid):
        self.ActionInvoked(nid, "default")
        self.NotificationClosed(nid, 2)

    @dbus.service.method("org.freedesktop.Notifications", in_signature="us")
    def Invoke(self, nid, action):
        self.ActionInvoked(nid, action)
        self.NotificationClosed(nid, 2)

    @dbus.service.signal("org.freedesktop.Notifications", signature="us")
    def NotificationReplied(self, nid, text):
        pass

    @dbus.service.method("org.freedesktop.Notifications", in_signature="us")
    def Reply(self, nid, text):
        self.NotificationReplied(nid, text)
        self.NotificationClosed(nid, 2)

    @dbus.service.method("org.freedesktop.Notifications", out_signature="as")
    def GetCapabilities(self):
        return ["body", "actions", "inline-reply"]

    @dbus.service.method("org.freedesktop.Notifications", out_signature="ssss")
    def GetServerInformation(self):
        return ("tern-test-notifyd", "tern", "1.0", "1.2")

    @dbus.service.method("org.freedesktop.Notifications", in_signature="u")
    def CloseNotification(self, nid):
        # Logged as {"closed": id}; reason 3 is "closed by a call to CloseNotification".
        with open(LOG, "a") as f:
            f.write(json.dumps({"closed": int(nid)}) + "\n")
        self.NotificationClosed(nid, 3)


DBusGMainLoop(set_as_default=True)
bus = dbus.SessionBus()
name = dbus.service.BusName("org.freedesktop.Notifications", bus, do_not_queue=True)
Daemon(bus, "/org/freedesktop/Notifications")
print("ready", flush=True)
GLib.MainLoop().run()
