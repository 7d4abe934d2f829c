"""A small Chrome DevTools Protocol client over Debian's python3-websockets (asyncio): commands
with their answers, and every event kept in order for the test to inspect or wait on."""
import asyncio
import itertools
import json

import websockets


class DevTools:
    def __init__(self, ws):
        self.ws = ws
        self.ids = itertools.count(1)
        self.pending = {}
        self.events = []
        self.changed = asyncio.Condition()
        self.reader = asyncio.ensure_future(self._read())

    @classmethod
    async def connect(cls, url):
        return cls(await websockets.connect(url, max_size=None, ping_interval=None))

    async def _read(self):
        async for raw in self.ws:
            msg = json.loads(raw)
            if "id" in msg:
                future = self.pending.pop(msg["id"], None)
                if future and not future.done():
                    future.set_result(msg)
            else:
                async with self.changed:
                    self.events.append(msg)
                    self.changed.notify_all()

    async def send(self, method, timeout=30, **params):
        """Sends a command and returns its result; raises on a protocol error."""
        ident = next(self.ids)
        future = asyncio.get_running_loop().create_future()
        self.pending[ident] = future
        await self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        msg = await asyncio.wait_for(future, timeout)
        if "error" in msg:
            raise RuntimeError(f"{method}: {msg['error']}")
        return msg.get("result", {})

    async def wait_event(self, method, start=0, timeout=30, where=lambda params: True):
        """The first event named `method` at index >= start that satisfies `where`."""
        async def find():
            async with self.changed:
                while True:
                    for e in self.events[start:]:
                        if e["method"] == method and where(e.get("params", {})):
                            return e["params"]
                    await self.changed.wait()
        return await asyncio.wait_for(find(), timeout)

    def named(self, method, start=0):
        return [e["params"] for e in self.events[start:] if e["method"] == method]

    async def close(self):
        self.reader.cancel()
        await self.ws.close()
