"""Socket.IO client managers whose room broadcasts queue one shared packet per socket without a task each."""

# python-socketio's AsyncManager.emit creates one asyncio task per recipient; for a room of hundreds that
# task churn is most of the fan-out time. Queuing on an Engine.IO socket never blocks (its queue is
# unbounded), so the packets can be queued in a plain loop. Emits with callbacks keep the stock path.

from __future__ import annotations

import socketio
from engineio import packet as eio_packet
from socketio import packet


class FanOutMixin(socketio.AsyncManager):
    async def emit(self, event, data, namespace, room=None, skip_sid=None, callback=None, to=None, **kwargs):
        if callback is not None:
            return await super().emit(
                event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, to=to, **kwargs
            )
        room = to or room
        if namespace not in self.rooms:
            return
        if isinstance(data, tuple):
            data = list(data)
        elif data is not None:
            data = [data]
        else:
            data = []
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        encoded = self.server.packet_class(packet.EVENT, namespace=namespace, data=[event, *data]).encode()
        if not isinstance(encoded, list):
            encoded = [encoded]
        eio_pkts = [eio_packet.Packet(eio_packet.MESSAGE, p) for p in encoded]
        for sid, eio_sid in list(self.get_participants(namespace, room)):
            if sid not in skip:
                for p in eio_pkts:
                    await self.server._send_eio_packet(eio_sid, p)


class FanOutManager(FanOutMixin):
    """The in-process manager (one server process)."""


class FanOutRedisManager(socketio.AsyncRedisManager, FanOutMixin):
    """Publishes through Redis like AsyncRedisManager; each process then delivers with the fast loop."""
