"""Getting slices on screen: decoding and windowing off the UI thread, prefetching around.

One :class:`SliceLoader` per pane. It runs every piece of work through
:class:`~ui.operations.Operations`; each result carries the token (case, series, opening)
it was computed for and is dropped if the pane has moved on, so an image of the last
patient can never appear in the next one's pane.

A slice whose frame is already in the cache is windowed at once on the UI thread: that
is one lookup in a cached 65536-entry table (well under a millisecond for 512×512, see
bench/README.md "Imaging pipeline"), less than the hop to a worker and back costs on a
busy machine, and it is what keeps scrolling and window dragging immediate. Decoding,
and windowing a frame that still has to be decoded, always run on a worker.

Only one display request is in flight at a time and only the newest waiting one is
kept: a fast wheel spin renders the slice it ends on, not every slice on the way. When
nothing waits, the neighbours (``PREFETCH`` either side, the scroll direction first)
are decoded into the cache, one at a time so a display request always finds a free
worker. Decoded frames stay in a :class:`~reviewer_app.imaging.cache.FrameCache` whose
budget is a setting; re-windowing a cached frame costs one table lookup.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from reviewer_app.errors import UndecodableImage
from reviewer_app.imaging import RenderedImage, render
from reviewer_app.imaging.cache import FrameCache
from reviewer_app.imaging.series import (
    InstanceRef,
    SeriesStack,
    build_stack,
    decode_slice,
    read_instance,
)
from reviewer_app.imaging.voi import Voi
from reviewer_app.vault import Vault
from ui.operations import OpContext, Operation, Operations, Priority
from ui.qt import QObject, Signal

#: Slices decoded ahead on either side of the one shown.
PREFETCH = 6

Token = tuple[str, str, int]


@dataclass(frozen=True)
class Shown:
    """A display result: the rendered image, or why the slice cannot be shown."""

    token: Token
    index: int
    image: RenderedImage | None
    problem: str | None
    #: The instance shown, for the preview (index -1) shown before the stack is known.
    sop_uid: str = ""


@dataclass(frozen=True)
class _Request:
    token: Token
    index: int
    window: Voi | None
    invert: bool


class SliceLoader(QObject):
    """Opens a series, then renders the slices the pane asks for (see module docstring)."""

    #: The series' stack is known (slices ordered): SeriesStack.
    stack_ready = Signal(object)
    #: A slice is rendered (or cannot be): Shown.
    shown = Signal(object)
    #: The open series was rebuilt with more (or other) instances: SeriesStack. Same
    #: series, new display order: requests made before it are dropped.
    stack_updated = Signal(object)
    #: The series could not be opened at all: reason text.
    failed = Signal(str)

    def __init__(self, ops: Operations, cache: FrameCache) -> None:
        super().__init__()
        self._ops = ops
        self.cache = cache
        self._vault: Vault | None = None
        self._token: Token | None = None
        self._opened = 0
        self.stack: SeriesStack | None = None
        self._busy = False
        self._waiting: _Request | None = None
        self._prefetching = False
        self._around = 0
        self._direction = 1
        # Everything started for the open series: cancelled when it closes, so that a
        # case left behind does not keep the pool busy (reading 500 headers takes seconds).
        self._ops_started: list[Operation] = []
        # Bumped by close(): callbacks of work started before it leave the state alone.
        self._epoch = 0
        self._showing: Operation | None = None
        self._refreshing: Operation | None = None

    def _run(self, fn: object, priority: Priority, **callbacks: object) -> Operation:
        self._ops_started = [op for op in self._ops_started if not op.done]
        op = self._ops.run(fn, priority=priority, **callbacks)  # type: ignore[arg-type]
        self._ops_started.append(op)
        return op

    @property
    def token(self) -> Token | None:
        """What is open now: (case id, series UID, opening number), or None."""
        return self._token

    def open(self, vault: Vault, case_id: str, series_uid: str, refs: list[InstanceRef]) -> None:
        """Start reading a series' headers; ``stack_ready`` follows (or ``failed``)."""
        self._opened += 1
        token = (case_id, series_uid, self._opened)
        self._token, self._vault, self.stack = token, vault, None
        self._waiting = None
        # The last series' header reading, preview and prefetch are of no use any more;
        # a slice being shown finishes (the busy flag waits for it) and is dropped.
        for op in self._ops_started:
            if op is not self._showing:
                op.cancel()
        self._prefetching = False

        def work(ctx: OpContext) -> SeriesStack:
            return build_stack(vault, refs, ctx.check)

        first = next((r for r in refs if r.object_id is not None), None)
        if first is not None:
            self._preview(vault, token, first)
        # Ordering needs every header; the preview is what the user sees meanwhile, so
        # this waits until what is about to be shown (in any pane) has been drawn.
        self._run(
            work,
            Priority.LOW,
            success=lambda stack: self._stack_built(token, stack),
            failure=lambda error: self._open_failed(token, error),
            label="imaging: open series",
        )

    def refresh(self, vault: Vault, refs: list[InstanceRef]) -> None:
        """The open series' instances changed (a sync brought more): rebuild its stack in
        the background, reading only the headers not read yet; ``stack_updated`` follows.
        What is shown stays until then (the pane finds its slice again by instance)."""
        token = self._token
        if token is None:
            return
        if self.stack is None:
            # Still reading the headers: start again with the new instances.
            self.open(vault, token[0], token[1], refs)
            return
        self._vault = vault
        known = {
            ref.object_id: header
            for ref, header in zip(self.stack.instances, self.stack.headers, strict=True)
            if ref.object_id is not None and header is not None
        }
        if self._refreshing is not None:
            self._refreshing.cancel()

        def work(ctx: OpContext) -> SeriesStack:
            return build_stack(vault, refs, ctx.check, known)

        def built(stack: SeriesStack) -> None:
            if token != self._token:
                return  # another series (or case) was opened meanwhile
            self._refreshing = None
            # A new opening number: a slice index asked for in the old order is dropped.
            self._opened += 1
            self._token = (token[0], token[1], self._opened)
            self._waiting = None
            self.stack = stack
            self.stack_updated.emit(stack)

        self._refreshing = self._run(
            work,
            Priority.LOW,
            success=built,
            failure=lambda error: self._open_failed(token, error),
            label="imaging: refresh series",
        )

    def _preview(self, vault: Vault, token: Token, ref: InstanceRef) -> None:
        """Show the first instance at once, while the other headers are still read."""
        assert ref.object_id is not None
        object_id = ref.object_id

        def work(ctx: OpContext) -> Shown:
            ctx.check()
            try:
                image = render(read_instance(vault, object_id), 0)
            except UndecodableImage as error:
                return Shown(token, -1, None, error.reason, ref.sop_uid)
            return Shown(token, -1, image, None, ref.sop_uid)

        def done(shown: Shown) -> None:
            # Only useful until the ordered stack is there.
            if shown.token == self._token and self.stack is None:
                self.shown.emit(shown)

        self._run(work, Priority.HIGH, success=done, label="imaging: first image")

    def close(self) -> None:
        """Forget the series: its pending work is cancelled (what still runs stops at
        its next check) and results that arrive anyway are dropped."""
        for op in self._ops_started:
            op.cancel()
        self._ops_started = []
        self._showing = None
        self._refreshing = None
        self._epoch += 1
        self._busy = False
        self._prefetching = False
        self._token = None
        self._vault = None
        self.stack = None
        self._waiting = None

    def _stack_built(self, token: Token, stack: SeriesStack) -> None:
        if token != self._token:
            return
        self.stack = stack
        self.stack_ready.emit(stack)

    def _open_failed(self, token: Token, error: BaseException) -> None:
        if token == self._token:
            self.failed.emit(getattr(error, "message", "the series could not be read"))

    def request(self, index: int, window: Voi | None, invert: bool) -> None:
        """Render slice ``index`` with ``window`` (None: the file's own) and ``invert``."""
        if self._token is None or self.stack is None:
            return
        self._direction = 1 if index >= self._around else -1
        self._around = index
        request = _Request(self._token, index, window, invert)
        if not self._busy and self._show_cached(request):
            self._prefetch()
            return
        self._waiting = request
        if not self._busy:
            self._start()

    def _show_cached(self, request: _Request) -> bool:
        """Render a cached frame here and now (see the module docstring)."""
        stack = self.stack
        assert stack is not None
        s = stack.slices[request.index]
        object_id = stack.instances[s.instance].object_id
        header = stack.headers[s.instance]
        stored = self.cache.get(("frame", object_id, s.frame)) if object_id else None
        if stored is None or header is None:
            return False
        try:
            image = render(header, s.frame, request.window, request.invert, stored=stored)
        except UndecodableImage as error:
            self.shown.emit(Shown(request.token, request.index, None, error.reason))
        else:
            self.shown.emit(Shown(request.token, request.index, image, None))
        return True

    def _start(self) -> None:
        request, self._waiting = self._waiting, None
        if request is None or request.token != self._token:
            self._busy = False
            self._prefetch()
            return
        self._busy = True
        vault, stack, cache, epoch = self._vault, self.stack, self.cache, self._epoch
        assert vault is not None and stack is not None

        def work(ctx: OpContext) -> Shown:
            ctx.check()
            try:
                stored = decode_slice(vault, stack, request.index, cache)
                header = stack.header(request.index)
                assert header is not None
                frame = stack.slices[request.index].frame
                image = render(header, frame, request.window, request.invert, stored=stored)
            except UndecodableImage as error:
                return Shown(request.token, request.index, None, error.reason)
            return Shown(request.token, request.index, image, None)

        self._showing = self._run(
            work,
            Priority.HIGH,
            success=lambda shown: self._delivered(epoch, shown),
            failure=lambda error: self._delivery_failed(epoch, error),
            label="imaging: show slice",
        )

    def _delivered(self, epoch: int, shown: Shown) -> None:
        if epoch != self._epoch:
            return  # closed meanwhile: close() reset the state
        if shown.token == self._token:
            self.shown.emit(shown)
        self._start()

    def _delivery_failed(self, epoch: int, error: BaseException) -> None:
        if epoch == self._epoch:
            self._busy = False
        self._ops.unhandled.emit(error)

    def _prefetch(self) -> None:
        """Decode the nearest neighbour not yet cached, then the next (one at a time)."""
        if self._prefetching or self._token is None or self.stack is None:
            return
        index = self._next_to_prefetch()
        if index is None:
            return
        self._prefetching = True
        vault, stack, cache, token = self._vault, self.stack, self.cache, self._token
        epoch = self._epoch
        assert vault is not None

        def work(ctx: OpContext) -> None:
            ctx.check()
            # An undecodable slice shows its placeholder when it is scrolled to.
            with contextlib.suppress(UndecodableImage):
                decode_slice(vault, stack, index, cache)

        def done(_result: object) -> None:
            if epoch != self._epoch:
                return
            self._prefetching = False
            if token == self._token and not self._busy:
                self._prefetch()

        def failed(error: BaseException) -> None:
            if epoch == self._epoch:
                self._prefetching = False
            self._ops.unhandled.emit(error)

        self._run(work, Priority.LOW, success=done, failure=failed, label="imaging: prefetch")

    def _next_to_prefetch(self) -> int | None:
        stack = self.stack
        assert stack is not None
        for distance in range(1, PREFETCH + 1):
            for sign in (self._direction, -self._direction):
                index = self._around + sign * distance
                if not 0 <= index < len(stack.slices):
                    continue
                s = stack.slices[index]
                ref = stack.instances[s.instance]
                if stack.problems[s.instance] is not None or ref.object_id is None:
                    continue
                if ("frame", ref.object_id, s.frame) not in self.cache:
                    return index
        return None
